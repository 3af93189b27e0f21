"""The embedded PostgreSQL asks every connection for its password (SCRAM-SHA-256): the
generated one is kept in a file only the user reads, named by the URL, never in it."""

from __future__ import annotations

import stat

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ledger import embedded


@pytest.fixture
def without_password_file(monkeypatch, tmp_path):
    monkeypatch.delenv("PGPASSFILE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.pgpass either


def test_the_embedded_postgres_refuses_a_connection_without_the_password(services, without_password_file):
    url = services.database_url
    passfile = conninfo_to_dict(url)["passfile"]
    with psycopg.connect(url) as conn:  # the URL names the password file: that works
        assert conn.execute("SHOW password_encryption").fetchone()[0] == "scram-sha-256"
    without_file = make_conninfo(**{k: v for k, v in conninfo_to_dict(url).items() if k != "passfile"})
    for refused in (without_file, make_conninfo(without_file, password="guess")):
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(refused)
    assert stat.S_IMODE(embedded.passfile_of(services.home).stat().st_mode) == 0o600
    assert embedded.passfile_of(services.home) == type(embedded.passfile_of(services.home))(passfile)


def test_the_embedded_postgres_has_no_trust_and_no_replication_entry(services):
    hba = (services.home / "pgdata" / "pg_hba.conf").read_text().splitlines()
    entries = [line.split() for line in hba if line.strip() and not line.lstrip().startswith("#")]
    assert entries and all(e[-1] == "scram-sha-256" for e in entries)
    assert not any("replication" in e for e in entries)
    assert not embedded._trusts(services.home)


def test_a_url_is_shown_without_its_password(services):
    with_password = make_conninfo(services.database_url, password="s3cret-Value")
    shown = embedded.shown_url(with_password)
    assert "s3cret-Value" not in shown and conninfo_to_dict(shown)["dbname"] == conninfo_to_dict(with_password)["dbname"]
