"""What an installation configures once, read from the environment (ledger/config.py)."""

from __future__ import annotations

from ledger.config import Settings


def test_the_partners_support_plan_is_read_from_the_environment():
    assert Settings.from_env({"LEDGER_PARTNER_SUPPORT_PLAN": "Premier Support"}).partner_support_plan == "Premier Support"


def test_without_one_the_support_plan_is_the_documented_default():
    assert Settings.from_env({}).partner_support_plan == "Partner Success Advanced"
    assert Settings.from_env({"LEDGER_PARTNER_SUPPORT_PLAN": ""}).partner_support_plan == "Partner Success Advanced"
