"""docs/usage-intake.md cannot drift from the code: its table of dead-letter reasons is the one
generated from consumers/dead_letters.REASONS, and the fingerprint it names is the schema's;
`ledger schema show usage` prints what an integrator compares a producer's bytes with."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from consumers.dead_letters import REASONS, reasons_markdown
from ledger.cli import main
from schemas import registry

PAGE = Path(__file__).resolve().parents[2] / "docs" / "usage-intake.md"
USAGE = "billing.usage.UsageEvent"


def test_the_pages_table_of_dead_letter_reasons_is_the_generated_one():
    text = PAGE.read_text()
    table = re.search(r"<!-- reasons:start -->\n(.*?)<!-- reasons:end -->", text, re.S)
    assert table is not None, "the page lost its reasons markers"
    assert table[1] == reasons_markdown(), "regenerate it: python -m consumers.dead_letters --markdown"


def test_the_generator_prints_one_row_per_reason():
    done = subprocess.run([sys.executable, "-m", "consumers.dead_letters", "--markdown"], capture_output=True, text=True)
    rows = [line for line in done.stdout.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == list(REASONS)


def test_the_page_names_the_usage_schemas_fingerprint():
    assert f"`{registry().latest(USAGE).fingerprint.hex()}`" in PAGE.read_text()


def test_schema_show_usage_prints_the_fingerprint_and_a_frame_that_decodes(capsys):
    assert main(["schema", "show", "usage"]) == 0
    out = capsys.readouterr().out
    fingerprint = registry().latest(USAGE).fingerprint.hex()
    assert f"fingerprint (CRC-64-AVRO): {fingerprint}" in out
    assert '"logicalType": "decimal"' in out and '{"name":"quantity","type":"bytes"}' in out, "schema and canonical form"
    frame = bytes.fromhex(re.search(r"frame:\s+([0-9a-f ]+)", out)[1].replace(" ", ""))
    schema, record = registry().decode(frame, expect=USAGE)
    assert frame[2:10].hex() == fingerprint and str(record["quantity"]) == "2.500000000"


def test_schema_show_names_an_unknown_schema_in_one_line(capsys):
    assert main(["schema", "show", "invoices"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: no schema 'invoices': give usage or a full name such as billing.ledger.UsageRecorded"
    )
