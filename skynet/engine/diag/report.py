"""What ``[p]ai diag`` shows, as plain data, and its rendering as Markdown text."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

from ..i18n import _, plural
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
        return _("{count} s ago").format(count=seconds)
    if seconds < 7200:
        return _("{count} min ago").format(count=seconds // 60)
    return _("{count} h ago").format(count=seconds // 3600)


def _clock(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at))


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def endpoint_line(status: EndpointStatus, owner: bool, prefix: str) -> str:
    if status.key_set is None:
        key = _("no key needed")
    elif status.key_set:
        key = _("key set (`{service}`)").format(service=status.token_service)
    else:
        key = _("**no key** (`[p]set api {service} api_key,<key>`)").format(service=status.token_service)
        key = key.replace("[p]", prefix)
    where = f" <{status.base_url}>" if owner else ""
    if status.reachable:
        state = plural(
            status.models,
            _("✅ reachable, {latency} ms, {models} model"),
            _("✅ reachable, {latency} ms, {models} models"),
        ).format(latency=f"{status.latency_ms:.0f}", models=status.models)
    else:
        state = "❌ " + _one_line((status.problem or _("unreachable")).replace("[p]", prefix))
    return f"• **{status.name}**{where} · {key} · {state}"


def render(report: DiagReport, prefix: str = "[p]") -> str:
    """The report as Markdown; the caller pagifies it (it can exceed 2000 characters)."""
    lines: List[str] = [_("## skynet diagnostics")]
    if report.owner and report.versions:
        versions = " · ".join(f"{k} {v}" for k, v in report.versions.items())
        lines.append(_("**Versions:** {versions}").format(versions=versions))
    if report.owner and report.storage:
        lines.append(_("**Config backend:** {backend}").format(backend=report.storage))
    if report.owner:
        flush = (
            f"{_clock(report.last_flush)} ({_ago(report.last_flush, report.now)})"
            if report.last_flush
            else _("not yet since the cog loaded")
        )
        lines.append(_("**Usage counters last stored:** {when}").format(when=flush))
    for name, backend in report.backends.items():
        lines.append(_("**{label}:** {backend}").format(label=name, backend=backend))
    lines.append(
        _("**Model here:** `{model}` (from {source})").format(model=report.model, source=report.model_source)
    )
    if report.params:
        shown = ", ".join(
            f"{name}={_one_line(repr(value), 60)} ({report.param_sources.get(name) or _('default')})"
            for name, value in sorted(report.params.items())
        )
        lines.append(_("**Parameters here:** {params}").format(params=shown))
    else:
        lines.append(_("**Parameters here:** provider defaults"))
    lines.append(_("**Endpoints:**") if report.endpoints else _("**Endpoints:** none configured"))
    lines.extend(endpoint_line(s, report.owner, prefix) for s in report.endpoints)
    if report.errors:
        count = len(report.errors)
        if report.owner:
            heading = plural(
                count,
                _("**The last error (everywhere):**"),
                _("**Last {count} errors (everywhere), newest first:**"),
            )
        else:
            heading = plural(
                count,
                _("**The last error (in this server):**"),
                _("**Last {count} errors (in this server), newest first:**"),
            )
        lines.append(heading.format(count=len(report.errors)))
        for record in report.errors:
            text = record.detail if report.owner and record.detail else record.message
            lines.append(
                f"• {_clock(record.at)} ({_ago(record.at, report.now)}) `{record.kind}`: "
                f"{_one_line(text.replace('[p]', prefix))}"
            )
    elif report.owner:
        lines.append(_("**Recent errors (everywhere):** none since the cog loaded"))
    else:
        lines.append(_("**Recent errors (in this server):** none since the cog loaded"))
    return "\n".join(lines)
