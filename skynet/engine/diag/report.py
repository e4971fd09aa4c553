"""What ``[p]ai diag`` shows, as plain data, and its rendering as Markdown text."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

from .errorlog import ErrorRecord
from .probe import EndpointStatus


@dataclass
class DiagReport:
    """Everything one ``diag`` shows. ``owner`` parts are left empty for server admins."""

    owner: bool
    model: str  # "endpoint:model" in effect here
    model_source: str  # scope label it came from
    params: Mapping[str, Any]
    param_sources: Mapping[str, str]
    endpoints: List[EndpointStatus]
    errors: List[ErrorRecord]
    versions: Dict[str, str] = field(default_factory=dict)
    storage: Optional[str] = None
    last_flush: Optional[float] = None  # time.time() of the last usage flush
    backends: Dict[str, str] = field(default_factory=dict)
    now: float = field(default_factory=time.time)


def _ago(at: float, now: float) -> str:
    seconds = max(0, int(now - at))
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


def _clock(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at))


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def endpoint_line(status: EndpointStatus, owner: bool, prefix: str) -> str:
    if status.key_set is None:
        key = "no key needed"
    elif status.key_set:
        key = f"key set (`{status.token_service}`)"
    else:
        key = f"**no key** (`{prefix}set api {status.token_service} api_key,<key>`)"
    where = f" <{status.base_url}>" if owner else ""
    if status.reachable:
        state = f"✅ reachable, {status.latency_ms:.0f} ms, {status.models} models"
    else:
        state = "❌ " + _one_line((status.problem or "unreachable").replace("[p]", prefix))
    return f"• **{status.name}**{where} · {key} · {state}"


def render(report: DiagReport, prefix: str = "[p]") -> str:
    """The report as Markdown; the caller pagifies it (it can exceed 2000 characters)."""
    lines: List[str] = ["## skynet diagnostics"]
    if report.owner and report.versions:
        lines.append("**Versions:** " + " · ".join(f"{k} {v}" for k, v in report.versions.items()))
    if report.owner and report.storage:
        lines.append(f"**Config backend:** {report.storage}")
    if report.owner:
        flush = (
            f"{_clock(report.last_flush)} ({_ago(report.last_flush, report.now)})"
            if report.last_flush
            else "not yet since the cog loaded"
        )
        lines.append(f"**Usage counters last stored:** {flush}")
    for name, backend in report.backends.items():
        lines.append(f"**{name}:** {backend}")
    lines.append(f"**Model here:** `{report.model}` (from {report.model_source})")
    if report.params:
        shown = ", ".join(
            f"{name}={_one_line(repr(value), 60)} ({report.param_sources.get(name, 'default')})"
            for name, value in sorted(report.params.items())
        )
        lines.append(f"**Parameters here:** {shown}")
    else:
        lines.append("**Parameters here:** provider defaults")
    lines.append("**Endpoints:**" if report.endpoints else "**Endpoints:** none configured")
    lines.extend(endpoint_line(s, report.owner, prefix) for s in report.endpoints)
    scope = "everywhere" if report.owner else "in this server"
    if report.errors:
        lines.append(f"**Last {len(report.errors)} errors ({scope}), newest first:**")
        for record in report.errors:
            text = record.detail if report.owner and record.detail else record.message
            lines.append(
                f"• {_clock(record.at)} ({_ago(record.at, report.now)}) `{record.kind}`: "
                f"{_one_line(text.replace('[p]', prefix))}"
            )
    else:
        lines.append(f"**Recent errors ({scope}):** none since the cog loaded")
    return "\n".join(lines)
