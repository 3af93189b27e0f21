"""The API's endpoints, one module per resource; each module has a `router`."""

from __future__ import annotations

from fastapi import APIRouter

from service.idempotency import IdempotentRoute


def new_router(tag: str) -> APIRouter:
    return APIRouter(prefix="/v1", tags=[tag], route_class=IdempotentRoute)
