"""Browser tests of the staff console: Playwright driving Debian's chromium (never a
downloaded browser), through `ledger serve` on a free port of 127.0.0.1, on the test's
PostgreSQL and broker. A failed test leaves a screenshot under the test run's directory."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(os.environ.get("LEDGER_SCREENSHOTS", "test-screenshots"))


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
def pages(browser, request):
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
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for n, page in enumerate(opened):
            page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}-{n}.png"), full_page=True)
    for page in opened:
        page.context.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.report_call = report
    return report
