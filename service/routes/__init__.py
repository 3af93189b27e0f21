"""The API's endpoints, one module per resource; each module has a `router`."""

from __future__ import annotations

from fastapi import APIRouter

from service.idempotency import IdempotentRoute
from service.versions import TaggedAnswers


class TaggedRoute(TaggedAnswers, IdempotentRoute):
    """A route whose reads answer an ETag (their digest) and 304 to If-None-Match."""


def new_router(tag: str, *, tagged_reads: bool = False) -> APIRouter:
    return APIRouter(prefix="/v1", tags=[tag], route_class=TaggedRoute if tagged_reads else IdempotentRoute)
