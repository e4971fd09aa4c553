"""HTML of the panel: one layout, escaped values, tables, forms. No template engine needed.

Every value that comes from members, the model or Discord goes through :func:`esc`; scripts
are files under ``static/`` (the Content-Security-Policy allows no inline script), data for
charts travels as JSON in a ``<script type="application/json">`` block, which is never run.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any, Iterable, List, Optional, Sequence, Tuple

from ..i18n import _

Cell = Tuple[str, Any]  # (shown text, sort value)


def esc(value: Any) -> str:
    return escape(str(value), quote=True)


def number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.2f}"


def money(value: float) -> str:
    if not value:
        return "$0"
    return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


def ms(value: Optional[float]) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f} ms" if value < 10_000 else f"{value / 1000:,.1f} s"


def percent(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "–"


def page(
    title: str,
    body: str,
    *,
    viewer_name: Optional[str] = None,
    csrf: Optional[str] = None,
    nav: Sequence[Tuple[str, str]] = (),
    notice: Optional[str] = None,
    error: Optional[str] = None,
) -> str:
    links = "".join(f'<a href="{esc(href)}">{esc(label)}</a>' for href, label in nav)
    account = ""
    if viewer_name is not None and csrf is not None:
        account = (
            f'<span class="who">{esc(viewer_name)}</span>'
            f'<form method="post" action="/logout" class="inline">{csrf_field(csrf)}'
            f'<button type="submit">{esc(_("Sign out"))}</button></form>'
        )
    flash = ""
    if notice:
        flash += f'<p class="notice" role="status">{esc(notice)}</p>'
    if error:
        flash += f'<p class="error" role="alert">{esc(error)}</p>'
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} · skynet</title>"
        '<link rel="stylesheet" href="/static/panel.css">'
        '<script src="/static/chart.umd.min.js" defer></script>'
        '<script src="/static/panel.js" defer></script>'
        "</head><body>"
        f'<header><a class="brand" href="/">skynet</a><nav>{links}</nav>{account}</header>'
        f"<main><h1>{esc(title)}</h1>{flash}{body}</main></body></html>"
    )


def csrf_field(token: str) -> str:
    return f'<input type="hidden" name="csrf" value="{esc(token)}">'


def table(
    headers: Sequence[str], rows: Iterable[Sequence[Cell]], *, table_id: str = "", empty: str = ""
) -> str:
    """A table the browser can sort by any column (panel.js sorts on ``data-sort``)."""
    body: List[str] = []
    for row in rows:
        cells = "".join(f'<td data-sort="{esc(sort)}">{text}</td>' for text, sort in row)
        body.append(f"<tr>{cells}</tr>")
    if not body:
        return f'<p class="empty">{esc(empty or _("Nothing yet."))}</p>'
    head = "".join(f'<th scope="col"><button type="button">{esc(h)}</button></th>' for h in headers)
    ident = f' id="{esc(table_id)}"' if table_id else ""
    return (
        f'<table class="sortable"{ident}><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    )


def json_block(element_id: str, data: Any) -> str:
    # "</" cannot end the block early: json.dumps escapes nothing, so escape the slash.
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return f'<script type="application/json" id="{esc(element_id)}">{payload}</script>'


def select(
    name: str, options: Sequence[Tuple[str, str]], chosen: Optional[str] = None, label: str = ""
) -> str:
    opts = "".join(
        f'<option value="{esc(v)}"{" selected" if v == chosen else ""}>{esc(text)}</option>'
        for v, text in options
    )
    field = f'<select name="{esc(name)}" id="f-{esc(name)}">{opts}</select>'
    return f'<label for="f-{esc(name)}">{esc(label)}</label>{field}' if label else field


def text_input(name: str, value: Any = "", label: str = "", size: int = 12) -> str:
    return (
        f'<label for="f-{esc(name)}">{esc(label)}</label>'
        f'<input type="text" name="{esc(name)}" id="f-{esc(name)}" value="{esc(value)}" size="{size}">'
    )


def form(action: str, csrf: str, inner: str, button: str, *, css: str = "") -> str:
    cls = f' class="{esc(css)}"' if css else ""
    return (
        f'<form method="post" action="{esc(action)}"{cls}>{csrf_field(csrf)}{inner}'
        f'<button type="submit">{esc(button)}</button></form>'
    )
