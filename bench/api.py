"""Commands and reads over HTTP (`ledger serve`) against the same calls in-process.

    .venv/bin/python -m bench.api [--customers 200] [--clients 32] [--seconds 5] [--workers 1] [--warmup 1]
                                  [--paced] [--paced-payments 300] [--paced-reads 1000]

`ledger serve` runs in a process of its own (`--workers` uvicorn workers), on the
benchmark's database and broker. `--clients` clients, each with its own keep-alive HTTP
connection and its own share of the customers (a customer's commands are serialised by the
ledger; clients of different customers are not), send payment commands for `--seconds`,
then read support views. The clients are one asyncio loop on raw sockets (bench/http_load.py):
its CPU per call is printed beside the server's. The same commands and reads, on the same
customers, are then run in-process by as many threads on the application itself: the
boundary's cost is the ratio. Targets of issue 11:
300 payments/s with p99 < 100 ms, 1,000 support reads/s with p99 < 50 ms, 32 clients, 2 cores.

The closed loop (each client sends its next call when its last is answered) is the headline
and the strict reading. `--paced` adds, after each closed loop, the same calls at a fixed
offered rate (`--paced-payments`, `--paced-reads`), wrk2-style: the connections together
send on a schedule, and each call's time is counted from when it was due (coordinated
omission corrected: bench/http_load.py). Its rows are named `paced_...`, with the offered
rate beside the achieved one.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta

import httpx

from bench.process_cpu import tree_cpu_seconds
from bench.common import ADMIN, bench_settings, open_customers, report, say
from bench.http_load import Request, hammer_http, request
from domain.credentials import TokenKind
from ledger.processes import projector_process, relay_process, run
from readside.queries import ViewQuery
from projections.support import SUPPORT_VIEW

PASSWORD = "bench password, long enough"


# The warm-up's calls are numbered from here: its payment ids are not the measured calls'.
WARMUP_CALLS = 10_000_000
PACED_CALLS = 20_000_000  # and the paced run's from here


def p99(timings: list[float]) -> float:
    return statistics.quantiles(timings, n=100)[98] if len(timings) > 1 else timings[0]


def hammer(clients: int, seconds: float, work, warmup: float = 0) -> dict[str, float]:
    """`work(client, n)` by `clients` threads for `seconds`: calls/s, p50, p99 and max in ms, and
    this process's CPU milliseconds per call (the in-process figure's "server"); after
    `warmup` seconds of the same work that are not counted."""
    if warmup:
        hammer(clients, warmup, lambda c, n: work(c, WARMUP_CALLS + n))
    timings: list[list[float]] = [[] for _ in range(clients)]
    failures: list[BaseException] = []
    deadline = time.perf_counter() + seconds

    def loop(client: int) -> None:
        n = 0
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                work(client, n)
                timings[client].append((time.perf_counter() - started) * 1000)
                n += 1
        except BaseException as error:  # noqa: BLE001 - reported after the run
            failures.append(error)

    threads = [threading.Thread(target=loop, args=(c,)) for c in range(clients)]
    cpu, started = time.process_time(), time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if failures:
        raise failures[0]
    every = [t for per_client in timings for t in per_client]
    return {"per_s": len(every) / elapsed, **spread(every), "server_cpu_ms": cpu * 1000 / len(every)}


def spread(ms: list[float]) -> dict[str, float]:
    return {"p50_ms": statistics.median(ms), "p99_ms": p99(ms), "max_ms": max(ms)}


def cpu_seconds(pid: int) -> float:
    """A process's CPU time so far, its children's (uvicorn's workers) included: what a call
    costs the server, whatever else the machine is doing."""
    return tree_cpu_seconds({"server": pid})["server"]


def over_http(server: subprocess.Popen, port: int, clients: int, seconds: float, warmup: float,
              build: Request, rate: float | None = None) -> dict[str, float]:
    """Calls/s, p50, p99 and max in ms, and the server's and the load generator's CPU
    milliseconds per call, after `warmup` seconds of the same calls that are not counted;
    at `rate` calls/s (paced), each call's time counted from when it was due."""
    def enough(duration: float, per_s: float = 20_000) -> int:  # a client never runs out
        return int(per_s * duration / clients) + 10

    if warmup:
        hammer_http(port, clients, warmup, lambda c, n: build(c, WARMUP_CALLS + n), per_client=enough(warmup))
    before = cpu_seconds(server.pid)
    timings, elapsed, client_cpu = hammer_http(port, clients, seconds, build, per_client=enough(seconds, rate or 20_000),
                                               rate=rate)
    calls = len(timings)
    server_ms = (cpu_seconds(server.pid) - before) * 1000 / calls
    paced = {} if rate is None else {"offered_per_s": rate}
    return {**paced, "per_s": calls / elapsed, **spread([t * 1000 for t in timings]), "server_cpu_ms": server_ms,
            "client_cpu_ms": client_cpu * 1000 / calls}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(settings, port: int, workers: int) -> subprocess.Popen:
    env = {**os.environ, "LEDGER_DATABASE_URL": settings.database_url, "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
           "LEDGER_USAGE_TOPIC": settings.usage_topic, "LEDGER_LEDGER_TOPIC": settings.ledger_topic,
           "LEDGER_GROUP_PREFIX": settings.group_prefix}
    server = subprocess.Popen([sys.executable, "-m", "ledger.cli", "serve", "--port", str(port), "--workers", str(workers)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ledger serve did not start: {server.stderr.read()}") from None
            time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--workers", type=int, default=1, help="`ledger serve --workers`")
    parser.add_argument("--warmup", type=float, default=1, help="seconds of each mix run first and not counted "
                        "(threads, connections and prepared statements made; kept aggregates read)")
    parser.add_argument("--paced", action="store_true", help="after each closed loop, the same calls at a fixed "
                        "offered rate, each call timed from when it was due")
    parser.add_argument("--paced-payments", type=float, default=300, help="offered payments/s of --paced")
    parser.add_argument("--paced-reads", type=float, default=1000, help="offered support reads/s of --paced")
    args = parser.parse_args()

    from service.access import issue_token, set_password
    from service.app import ServiceContext

    with bench_settings() as settings:
        ctx = ServiceContext.open(settings)
        customers = open_customers(ctx.ledger, args.customers)
        set_password(ctx.credentials, ctx.access, ADMIN, PASSWORD, one_time=False, at=ctx.clock(), actor="bench")
        token = issue_token(ctx.credentials, ctx.access, TokenKind.PERSONAL, ADMIN, "bench", timedelta(hours=1),
                            at=ctx.clock(), actor=ADMIN).secret
        processes = [relay_process(settings, ctx.ledger), projector_process(settings)]
        try:
            run(processes, threading.Event(), until_drained=True)  # the support views to read
        finally:
            for process in processes:
                process.close()

        per_client = len(customers) // args.clients
        assert per_client, "fewer customers than clients"

        def own(client: int, n: int) -> str:  # each client its own customers, in turn
            return customers[client * per_client + n % per_client]

        port = free_port()
        server = serve(settings, port, args.workers)
        figures = {}
        try:
            def pay_over_http(client: int, n: int) -> bytes:
                body = json.dumps({"payment_id": f"H-{client}-{n}", "amount": {"amount": 100, "currency": "EUR"}})
                return request("POST", f"/v1/customers/{own(client, n)}/payments", token, body.encode())

            def read_over_http(client: int, n: int) -> bytes:
                return request("GET", f"/v1/views/support/{own(client, n)}", token)

            say(f"over HTTP: {args.clients} clients, {args.seconds} s each")
            for what, build, offered in (("payments", pay_over_http, args.paced_payments),
                                         ("support_reads", read_over_http, args.paced_reads)):
                figures[f"http_{what}"] = over_http(server, port, args.clients, args.seconds, args.warmup, build)
                if args.paced:  # calls numbered apart from the closed loop's: new payment ids
                    figures[f"paced_{what}"] = over_http(server, port, args.clients, args.seconds, 0,
                                                         lambda c, n, build=build: build(c, PACED_CALLS + n), offered)
        finally:
            server.terminate()
            server.wait(timeout=30)

        def pay_in_process(client: int, n: int) -> None:
            ctx.ledger.receive_payment(own(client, n), f"P-{client}-{n}", 100, "EUR", "transfer", "",
                                       at=ctx.clock(), actor=ADMIN)

        def read_in_process(client: int, n: int) -> None:
            with ctx.views_pool.connection() as conn:
                assert ViewQuery(SUPPORT_VIEW, key=own(client, n)).rows(conn, settings.views_schema)

        say(f"in-process: {args.clients} threads, {args.seconds} s each")
        figures["in_process_payments"] = hammer(args.clients, args.seconds, pay_in_process, args.warmup)
        figures["in_process_support_reads"] = hammer(args.clients, args.seconds, read_in_process, args.warmup)
        ctx.close()

    print(f"{args.customers} customers, {args.clients} clients, {args.seconds:g} s each after {args.warmup:g} s of warm-up, "
          f"ledger serve --workers {args.workers}")
    columns = ("offered_per_s", "per_s", "p50_ms", "p99_ms", "max_ms", "server_cpu_ms", "client_cpu_ms")
    print(f"{'':28}{'offered/s':>10}{'per s':>10}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}"
          f"{'server CPU ms/call':>20}{'client CPU ms/call':>20}")
    for name, figure in figures.items():
        cells = [figure.get(c) for c in columns]
        print(f"{name:28}" + "".join(f"{'':>{w}}" if v is None else f"{v:{w}.{d}f}"
                                     for v, w, d in zip(cells, (10, 10, 10, 10, 10, 20, 20), (0, 0, 1, 1, 1, 2, 2))))
    if args.paced:
        print("http_...: the closed loop (each client waits for its answer); paced_...: calls sent at the offered "
              "rate on a schedule, each timed from when it was due")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for what in ("payments", "support_reads"):
        ratio = figures[f"in_process_{what}"]["per_s"] / figures[f"http_{what}"]["per_s"]
        print(f"{what}: in-process / HTTP = {ratio:.1f}x")
    report("api", figures["http_payments"]["per_s"], "payments/s over HTTP",
           **{f"{k}_{m}": round(v, 2) for k, f in figures.items() for m, v in f.items()},
           load_average=os.getloadavg()[0], workers=args.workers)


if __name__ == "__main__":
    main()
