"""Signing in: `ledger login [URL]`, `ledger logout`, `ledger whoami`, and personal tokens
for scripts (`ledger token create`).

The token is kept in the user's config directory (platformdirs), readable only by them;
LEDGER_API_URL and LEDGER_TOKEN override it for scripts. A token is printed once: when a
personal token is made. A session token from `ledger login` is never printed.
"""

from __future__ import annotations

import getpass
import sys

from ledger.api_client import Api, ApiRefused, api_url, forget_credentials, saved_credentials, save_credentials
from ledger.commands import add_command, add_group, say, with_api
from ledger.config import Settings


def ask(prompt: str) -> str:
    if sys.stdin.isatty():
        return input(prompt).strip()
    return sys.stdin.readline().strip()


def ask_secret(prompt: str) -> str:
    """A password: typed without echo at a terminal, else one line of stdin (for scripts)."""
    secret = getpass.getpass(prompt) if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    if not secret:
        raise ApiRefused("no password given")
    return secret


def cmd_login(settings: Settings, args) -> int:
    url = api_url(args.url)
    if args.token_stdin:
        token = sys.stdin.readline().strip()
        if not token:
            raise ApiRefused("no token on stdin")
        who = Api(url, token).get("/sessions/current")
    else:
        user = args.user or ask("user: ")
        password = ask_secret(f"password for {user}: ")
        who = Api(url, None).post("/sessions", {"user": user, "password": password})
        token = who.pop("token")
        if who["must_change_password"]:
            say(f"{user}: you signed in with a one-time password; choose your own (12 to 256 characters)")
            new = ask_secret("new password: ")
            Api(url, token).put(f"/staff/{user}/password", {"current_password": password, "password": new})
    path = save_credentials(url, who["user"], token, who["token_id"], who["expires_at"])
    print(f"signed in to {url} as {who['user']} until {who['expires_at']} (token kept in {path})")
    return 0


def cmd_logout(settings: Settings, args) -> int:
    saved = saved_credentials()
    if not saved.get("token"):
        print("not signed in (nothing to do)")
        return 0
    try:
        Api(saved["url"], saved["token"]).delete("/sessions/current")
        note = "token revoked"
    except ApiRefused:  # expired or revoked before: nothing left to revoke
        note = "the token was no longer valid"
    forget_credentials()
    print(f"signed out of {saved['url']} ({note}; its file removed)")
    return 0


@with_api
def cmd_whoami(api: Api, args) -> int:
    who = api.get("/sessions/current")
    print(f"{who['user']} at {api.url} (token {who['token_id']}, until {who['expires_at']})")
    return 0


@with_api
def cmd_token_create(api: Api, args) -> int:
    made = api.post("/tokens", {"name": args.name, "expires_in_days": args.days})
    say(f"personal token {made['token_id']} acting as {made['principal']} until {made['expires_at']}: "
        "shown once, keep it secret (LEDGER_TOKEN=...)")
    print(made["secret"])
    return 0


@with_api
def cmd_token_revoke(api: Api, args) -> int:
    done = api.delete(f"/tokens/{args.token_id}")
    print(f"token {args.token_id}: {'revoked' if done['changed'] else 'nothing changed (revoked before)'}")
    return 0


def register(sub) -> None:
    p = add_command(sub, "login", cmd_login, "sign in to the ledger's API and keep the token for later commands")
    p.add_argument("url", nargs="?", help="the API (default: LEDGER_API_URL, else the last one, else http://127.0.0.1:8080)")
    p.add_argument("--user", help="the staff user (asked for if not given)")
    p.add_argument("--token-stdin", action="store_true", help="keep a personal token read from stdin instead")
    add_command(sub, "logout", cmd_logout, "revoke the kept token and remove its file")
    add_command(sub, "whoami", cmd_whoami, "who the staff commands act as")
    token = add_group(sub, "token", "personal API tokens for scripts (LEDGER_TOKEN)")
    p = add_command(token, "create", cmd_token_create, "make a personal token acting as you; printed once")
    p.add_argument("name", help="what it is for, shown in lists")
    p.add_argument("--days", type=int, default=90, help="days until it expires (1 to 366, default 90)")
    p = add_command(token, "revoke", cmd_token_revoke, "revoke a token at once")
    p.add_argument("token_id", metavar="token-id")
