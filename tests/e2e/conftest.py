"""Browser tests of the staff console: Playwright driving Debian's chromium (never a
downloaded browser), through `ledger serve` on a free port of 127.0.0.1, on the test's
PostgreSQL and broker. A failed test leaves a screenshot of each of its pages, in
$LEDGER_SCREENSHOTS or else under pytest's base temporary directory, and says where."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.api_helpers import serving
from tests.billing_life import BILLING, HELPDESK, SALES, grant_staff_roles, open_acme, until_suspended, usage_reports
from tests.e2e.console_helpers import TODAY
from tests.factories import ADMIN
from tests.read_side_helpers import relay_and_project

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _missing_browser(why: str):
    # In CI the browser is installed by .ci/run: its absence there is a failure, not a skip.
    if os.environ.get("CI") == "true":
        pytest.fail(f"{why}: the browser tests must run in CI (.ci/run installs chromium)")
    pytest.skip(why)


@pytest.fixture(scope="session")
def browser():
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        _missing_browser(f"no {CHROMIUM} (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing_browser("the playwright package is not installed")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def pages(browser, request, tmp_path_factory):
    """Browser pages, each its own context (its own cookies: one per staff member)."""
    opened = []

    def new_page():
        context = browser.new_context()
        page = context.new_page()
        page.set_default_timeout(15_000)
        opened.append(page)
        return page

    yield new_page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        folder = Path(os.environ.get("LEDGER_SCREENSHOTS") or tmp_path_factory.getbasetemp() / "screenshots")
        folder.mkdir(parents=True, exist_ok=True)
        for n, page in enumerate(opened):
            path = folder / f"{request.node.name}-{n}.png"
            page.screenshot(path=str(path), full_page=True)
            print(f"screenshot of the failed test's page {n}: {path}", file=sys.stderr)
    for page in opened:
        page.context.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.report_call = report
    return report


@contextlib.contextmanager
def served_console(settings):
    """The console served with its clock on 20 November, a user of each role with PASSWORD."""
    with serving(settings) as served:
        served.ctx.clock = lambda: TODAY
        served.add_staff(ADMIN, None)
        for user in (BILLING, HELPDESK, SALES):
            served.add_staff(user, None)
        yield served


@pytest.fixture
def console(settings, app):
    """ACME suspended on 14 November (tests/billing_life.py), projected; the console served
    with its clock on 20 November; a user of each role with PASSWORD."""
    open_acme(app)
    app.record_usage(usage_reports(), actor="system:ingest")
    until_suspended(app)
    relay_and_project(settings, app)
    with served_console(settings) as served:
        yield served


@pytest.fixture
def new_console(settings, app):
    """The console on a ledger with staff and no customer yet."""
    grant_staff_roles(app)
    with served_console(settings) as served:
        yield served
