"""The staff commands' way to the ledger: its HTTP API (`ledger serve`), signed in.

Where: LEDGER_API_URL, else the URL `ledger login` kept, else http://127.0.0.1:8080.
As whom: LEDGER_TOKEN, else the token `ledger login` kept in the user's config directory
(a file only its user may read). The environment wins, so that a script's token is the one used.

The API's errors (application/problem+json) become one line each, with the CLI's exit codes:
a refusal or bad input is an `ApiRefused` (2), an API that cannot be reached or a dependency
down behind it is `ApiUnavailable` (3), anything else an `ApiFailed` (1).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.address import DEFAULT_HOST, DEFAULT_PORT

DEFAULT_URL = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
TIMEOUT_SECONDS = 60  # a collections run over every account takes a while
NOT_SIGNED_IN = "not signed in: run `ledger login`"


class ApiError(Exception):
    """An answer of the API that is not a success, as one line."""


class ApiRefused(ApiError):
    """The request was refused (400-499): not signed in, not allowed, invalid, unknown."""


class ApiUnavailable(ApiError):
    """The API cannot be reached, or says a service behind it is down (503)."""


class ApiFailed(ApiError):
    """The API failed unexpectedly (500)."""


# --- where the signed-in token is kept ----------------------------------------------------


def credentials_file() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("ledger")) / "credentials.json"


def saved_credentials() -> dict[str, str]:
    try:
        return json.loads(credentials_file().read_text())
    except (FileNotFoundError, ValueError):
        return {}


def save_credentials(url: str, user: str, token: str, token_id: str, expires_at: str) -> Path:
    """Written readable by its user only: the directory 0700, the file 0600 from its creation
    (never a moment world-readable), replaced whole."""
    path = credentials_file()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    partial = path.with_suffix(".tmp")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # a file left by an interrupted login keeps its mode through O_CREAT
    with os.fdopen(descriptor, "w") as out:
        json.dump({"url": url, "user": user, "token": token, "token_id": token_id, "expires_at": expires_at}, out)
    os.replace(partial, path)
    return path


def forget_credentials() -> bool:
    try:
        credentials_file().unlink()
        return True
    except FileNotFoundError:
        return False


def api_url(given: str | None = None) -> str:
    return (given or os.environ.get("LEDGER_API_URL") or saved_credentials().get("url") or DEFAULT_URL).rstrip("/")


def api_token() -> str | None:
    return os.environ.get("LEDGER_TOKEN") or saved_credentials().get("token")


# --- requests ------------------------------------------------------------------------------


@dataclass
class Api:
    url: str
    token: str | None

    @classmethod
    def signed_in(cls) -> Api:
        """The API as the signed-in user: refused at once when nobody signed in."""
        token = api_token()
        if not token:
            raise ApiRefused(NOT_SIGNED_IN)
        return cls(api_url(), token)

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: dict | None = None) -> Any:
        return self.request("POST", path, body=body or {})

    def put(self, path: str, body: dict | None = None) -> Any:
        return self.request("PUT", path, body=body or {})

    def patch(self, path: str, body: dict) -> Any:
        return self.request("PATCH", path, body=body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def pages(self, path: str, after: str | None = None, **params: Any) -> list:
        """Every row of a paged list (`data`, `has_more`, `next`), from the start or after `after`."""
        rows: list = []
        while True:
            page = self.get(path, **params, starting_after=after)
            rows += page["data"]
            if not page["has_more"]:
                return rows
            after = page["next"]

    def request(self, method: str, path: str, body: dict | None = None, params: dict | None = None) -> Any:
        query = urllib.parse.urlencode(
            [(k, v) for k, value in (params or {}).items() if value is not None
             for v in (value if isinstance(value, list) else [value])]
        )
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None
        if body is not None:
            data = json.dumps({k: v for k, v in body.items() if v is not None}).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(f"{self.url}/v1{quoted(path)}" + (f"?{query}" if query else ""),
                                         data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
                return json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as error:
            raise problem_of(error) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ApiUnavailable(f"the ledger API at {self.url} cannot be reached ({reason}); "
                                 "is `ledger serve` running? (LEDGER_API_URL names it)") from None


def quoted(path: str) -> str:
    """Ids go into the path as they are, each segment escaped (an id may hold `@` or `:`)."""
    return "/".join(urllib.parse.quote(part, safe="@:+") for part in path.split("/"))


def problem_of(error: urllib.error.HTTPError) -> ApiError:
    try:
        problem = json.loads(error.read())
        detail = problem.get("detail") or error.reason
    except (ValueError, AttributeError):
        problem, detail = {}, error.reason
    status = error.code
    if status == 401:
        return ApiRefused(f"{NOT_SIGNED_IN} ({detail})")
    if status == 503:
        return ApiUnavailable(f"a service is unavailable: {detail}")
    if status == 429:
        return ApiRefused(f"{detail}")
    if 400 <= status < 500:
        return ApiRefused(detail)
    return ApiFailed(f"the ledger API failed ({status}): {detail}")
