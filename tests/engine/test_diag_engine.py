"""The diag engine: a bounded error log, and a report that says what an owner needs to know."""

from __future__ import annotations

from skynet.engine.diag.errorlog import ErrorLog
from skynet.engine.diag.probe import EndpointStatus
from skynet.engine.diag.report import DiagReport, render
from skynet.engine.diag.versions import versions


def test_the_error_log_keeps_the_last_twenty_newest_first_per_server():
    clock = iter(range(100)).__next__
    log = ErrorLog(clock=clock)
    for n in range(25):
        log.record("provider_down", f"message {n}", f"detail {n}", guild_id=1 if n % 2 else 2)
    everywhere = log.recent(everywhere=True)
    assert (
        len(everywhere) == 20
        and everywhere[0].message == "message 24"
        and everywhere[-1].message == "message 5"
    )
    assert all(r.guild_id == 1 for r in log.recent(1)) and log.recent(1)[0].message == "message 23"


def test_versions_come_from_metadata_without_importing_chromadb():
    import sys

    sys.modules.pop("chromadb", None)
    found = versions()
    assert found["skynet"] == "0.1.0" and found["Red"].startswith("3.5") and found["chromadb"]
    assert "chromadb" not in sys.modules


def test_render_hides_owner_parts_from_admins_and_replaces_the_prefix():
    status = EndpointStatus(
        "groq",
        "https://api.groq.com/openai/v1",
        "groq",
        False,
        False,
        None,
        None,
        "No key: `[p]set api groq`",
    )
    report = DiagReport(
        owner=False,
        model="groq:llama",
        model_source="this server",
        params={"temperature": 0.5},
        param_sources={"temperature": "this channel"},
        endpoints=[status],
        errors=[],
        versions={"skynet": "0.1.0"},
        storage="JSON",
    )
    text = render(report, "!")
    assert "Versions" not in text and "JSON" not in text and "api.groq.com" not in text
    assert "**no key** (`!set api groq api_key,<key>`)" in text and "[p]" not in text
    assert "temperature=0.5 (this channel)" in text
    assert "none since the cog loaded" in text
