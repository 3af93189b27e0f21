"""`ledger demo --serve`, as a new user runs it after the README's first command: the demo's
data, then the console served on it with a sign-in for each role, until Ctrl-C."""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading

from tests.api_helpers import free_port, stop_with_ctrl_c
from tests.conftest import wait_for
from tests.e2e.console_helpers import sign_in

ROLES = ["Global admin", "User management admin", "Helpdesk agent", "Billing admin", "Sales agent"]
SIGN_IN_LINE = re.compile(r"^  (?P<role>.+?)\s+user (?P<user>\S+)\s+password (?P<password>\S+)$")


def lines_of(stream) -> queue.Queue:
    """The lines a subprocess prints, as they come (read in a thread: the server never ends by itself)."""
    lines: queue.Queue = queue.Queue()

    def read():
        for line in stream:
            lines.put(line.rstrip("\n"))

    threading.Thread(target=read, daemon=True).start()
    return lines


def test_ledger_demo_serve_prints_a_sign_in_per_role_and_the_helpdesk_agent_sees_the_console(cli_env, pages):
    port = free_port()
    demo = subprocess.Popen([sys.executable, "-m", "ledger.cli", "demo", "--serve", "--port", str(port)], env=cli_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    printed: list[str] = []
    try:
        out = lines_of(demo.stdout)

        def printed_the_sign_ins():
            assert demo.poll() is None, demo.stderr.read()
            while not out.empty():
                printed.append(out.get())
            return sum(bool(SIGN_IN_LINE.match(line)) for line in printed) == len(ROLES)

        wait_for(printed_the_sign_ins, timeout=600, what="ledger demo --serve to print its sign-ins")
        address = next(re.search(r"the staff console: (http://\S+)/ \(Ctrl-C stops it\)", line) for line in printed
                       if "the staff console:" in line)
        assert address and address.group(1) == f"http://127.0.0.1:{port}"
        sign_ins = {m["role"]: (m["user"], m["password"]) for m in map(SIGN_IN_LINE.match, printed) if m}
        assert list(sign_ins) == ROLES

        agent = pages()
        user, password = sign_ins["Helpdesk agent"]
        sign_in(agent, address.group(1), user, password)
        agent.get_by_label("Customer").fill("Contoso")
        agent.get_by_role("button", name="Find").click()
        agent.get_by_role("link", name="CUST-001", exact=True).click()
        assert agent.locator("#status .collection-status").inner_text(), "the support view of a demo customer"
        assert agent.locator("#timeline li").count() > 0
        assert agent.get_by_role("button", name="Record payment").count() == 0, "a helpdesk agent records no payment"
    finally:
        stop_with_ctrl_c(demo, timeout=60)
    assert demo.returncode == 0, demo.stderr.read()
