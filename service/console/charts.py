"""Pictures drawn on the server as inline SVG: no script, no build step, printable."""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from domain.money import format_minor_units

WIDTH, BAR_HEIGHT, GAP, LABEL = 640, 28, 10, 120


def ageing_svg(currency: str, bars) -> str:
    """One horizontal bar per ageing bucket, each a link to the customers behind it."""
    largest = max((b.amount for b in bars), default=0) or 1
    height = len(bars) * (BAR_HEIGHT + GAP)
    parts = [f'<svg class="chart" role="img" aria-label="Ageing of open invoices in {currency}" '
             f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}">']
    for n, bar in enumerate(bars):
        y = n * (BAR_HEIGHT + GAP)
        length = round((WIDTH - LABEL - 160) * bar.amount / largest)
        amount = format_minor_units(bar.amount, currency)
        href = f"/ageing?currency={quote(currency)}&amp;bucket={quote(bar.bucket)}"
        parts.append(
            f'<a href="{href}" data-bucket="{escape(bar.bucket)}" data-amount="{bar.amount}">'
            f'<title>{escape(bar.label)}: {amount}, {len(bar.customers)} customers</title>'
            f'<text x="0" y="{y + 19}">{escape(bar.label)}</text>'
            f'<rect x="{LABEL}" y="{y}" width="{max(length, 1)}" height="{BAR_HEIGHT}" class="bar-{n}"/>'
            f'<text x="{LABEL + max(length, 1) + 6}" y="{y + 19}">{amount}</text></a>'
        )
    parts.append("</svg>")
    return "".join(parts)
