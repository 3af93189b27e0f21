# The ledger's long-running processes (ingest, relay, project) against an external
# PostgreSQL and Kafka; see docker-compose.yml. No [embedded] extra: the container
# never starts a database or broker of its own.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# eventsourcing[postgres] installs psycopg without a bundled libpq: the pure-Python
# psycopg loads the system's libpq.so.5, which the slim image does not have.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# Only what the package is built from: copying the whole tree would bring in .git and .venv.
COPY pyproject.toml README.md ./
COPY domain/ domain/
COPY projections/ projections/
COPY consumers/ consumers/
COPY schemas/ schemas/
COPY ledger/ ledger/
RUN pip install --no-cache-dir .

RUN useradd --create-home --uid 10001 ledger
USER ledger
WORKDIR /home/ledger
# Every command takes a lock file under the ledger home, even with external
# services configured, so it must be a directory this user can write.
ENV LEDGER_HOME=/home/ledger/.ledger

# Exec form: `ledger` is PID 1 and receives SIGTERM directly (it stops cleanly on it).
ENTRYPOINT ["ledger"]
CMD ["--help"]
