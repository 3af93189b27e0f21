"""The projections the projector applies. A new read model plugs in by a module and its
SQL beside this one (see projections/base.py), and one line here."""

from __future__ import annotations

from domain.errors import LedgerError
from projections.balances import BalancesProjection
from projections.base import Projection, View
from projections.collections import CollectionsProjection
from projections.invoices import InvoicesProjection
from projections.support import SupportProjection

# In this order the views are created: a view may read the views of projections before it.
PROJECTIONS: tuple[type[Projection], ...] = (
    BalancesProjection,
    InvoicesProjection,
    CollectionsProjection,
    SupportProjection,
)


def all_projections() -> list[Projection]:
    return [cls() for cls in PROJECTIONS]


def projection_named(name: str) -> Projection:
    for cls in PROJECTIONS:
        if cls.name == name:
            return cls()
    raise LedgerError(f"no projection named {name!r}; there are: {', '.join(names())}")


def names() -> list[str]:
    return [cls.name for cls in PROJECTIONS]


def view_named(query_name: str) -> tuple[Projection, View]:
    """The view that `ledger query <query_name>` reads (its short name or its view name)."""
    for projection in all_projections():
        for view in projection.views:
            if query_name in (view.query_name, view.name):
                return projection, view
    raise LedgerError(f"no view named {query_name!r}")


def all_views() -> list[tuple[Projection, View]]:
    return [(p, v) for p in all_projections() for v in p.views]
