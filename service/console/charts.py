"""Pictures drawn on the server as inline SVG: no script, no build step, printable."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any
from urllib.parse import quote

from domain.money import format_minor_units

WIDTH, BAR_HEIGHT, GAP, LABEL = 640, 28, 10, 120


def bars_svg(label: str, bars, value: Callable[[Any], str], href: Callable[[Any], str], title: Callable[[Any], str]) -> str:
    """One horizontal bar per group (`bars`: Bar of service/console/reads.py), each a link to
    the customers behind it; `value` is the text beside the bar, `title` its tooltip."""
    largest = max((b.amount for b in bars), default=0) or 1
    height = len(bars) * (BAR_HEIGHT + GAP)
    parts = [f'<svg class="chart" role="img" aria-label="{escape(label)}" '
             f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}">']
    for n, bar in enumerate(bars):
        y = n * (BAR_HEIGHT + GAP)
        length = round((WIDTH - LABEL - 160) * bar.amount / largest)
        parts.append(
            f'<a href="{escape(href(bar))}" data-bucket="{escape(bar.bucket)}" data-amount="{bar.amount}">'
            f'<title>{escape(title(bar))}</title>'
            f'<text x="0" y="{y + 19}">{escape(bar.label)}</text>'
            f'<rect x="{LABEL}" y="{y}" width="{max(length, 1)}" height="{BAR_HEIGHT}" class="bar-{n}"/>'
            f'<text x="{LABEL + max(length, 1) + 6}" y="{y + 19}">{escape(value(bar))}</text></a>'
        )
    parts.append("</svg>")
    return "".join(parts)


def ageing_svg(currency: str, bars) -> str:
    """What open invoices hold per ageing bucket, each bar a link to the customers behind it."""
    def amount(bar) -> str:
        return format_minor_units(bar.amount, currency)

    return bars_svg(f"Ageing of open invoices in {currency}", bars, amount,
                    lambda bar: f"/ageing?currency={quote(currency)}&bucket={quote(bar.bucket)}",
                    lambda bar: f"{bar.label}: {amount(bar)}, {bar.customers} customers")


def statuses_svg(bars) -> str:
    """How many customers are in each collection status, each bar a link to them."""
    def customers(bar) -> str:
        return f"{bar.customers} customer" + ("" if bar.customers == 1 else "s")

    return bars_svg("Customers per collection status", bars, customers,
                    lambda bar: f"/collection-statuses?status={quote(bar.bucket)}",
                    lambda bar: f"{bar.label}: {customers(bar)}")


def balance_svg(points: list[tuple], currency: str, width: int = 640, height: int = 160) -> str:
    """A customer's balance after each event that moved it, as steps; credit below the line."""
    if not points:
        return ""
    pad = 8
    first, last = points[0][0].timestamp(), points[-1][0].timestamp()
    span = (last - first) or 1
    values = [b for _, b in points] + [0]
    low, high = min(values), max(values)
    scale = (high - low) or 1

    def x(t) -> float:
        return round(pad + (width - 2 * pad) * (t.timestamp() - first) / span, 1)

    top, bottom = 18, 20  # room for the labels

    def y(balance: int) -> float:
        return round(top + (height - top - bottom) * (high - balance) / scale, 1)

    at0, balance0 = points[0]
    path = [f"M{x(at0)},{y(balance0)}"] + [f"H{x(at)} V{y(balance)}" for at, balance in points[1:]]
    path.append(f"H{width - pad}")
    dots = "".join(
        f'<circle cx="{x(at)}" cy="{y(b)}" r="3" data-balance="{b}"><title>{at:%Y-%m-%d}: '
        f'{escape(format_minor_units(b, currency))}</title></circle>'
        for at, b in points
    )
    return (f'<svg class="chart balance" role="img" aria-label="Balance over time in {currency}" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
            f'<text x="{pad}" y="12">{escape(format_minor_units(high, currency))}</text>'
            f'<text x="{pad}" y="{height - 4}">{points[0][0]:%Y-%m-%d}</text>'
            f'<text x="{width - pad}" y="{height - 4}" text-anchor="end">{points[-1][0]:%Y-%m-%d}: '
            f'{escape(format_minor_units(points[-1][1], currency))}</text>'
            f'<line x1="{pad}" x2="{width - pad}" y1="{y(0)}" y2="{y(0)}" class="zero"/>'
            f'<path d="{" ".join(path)}" class="steps"/>{dots}</svg>')
