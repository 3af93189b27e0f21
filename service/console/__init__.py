"""The staff console: server-rendered pages over the same application, views and role
checks as the API (service/routes), for helpdesk agents and billing admins.

`install(app)` adds its pages at `/` and its stylesheet under `/console/static/`."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

HERE = Path(__file__).parent


def install(app: FastAPI) -> None:
    from service.console import accounts_page, actions, dead_letters_page, pages, session, staff_page, web

    if app.state.context is not None:  # None: the app only for its OpenAPI document (service/docs.py)
        session.create_tables(app.state.context)
    web.install(app)
    app.include_router(pages.router)
    app.include_router(actions.router)
    app.include_router(accounts_page.router)
    app.include_router(dead_letters_page.router)
    app.include_router(staff_page.router)
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")
