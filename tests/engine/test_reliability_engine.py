"""The reliability engine on plain data: retry policy, circuit breaker, failover chain, deletion
tombstones, redaction of key fragments, blank prompts. Time is injected: no test sleeps."""

from __future__ import annotations

import random
from typing import List

import httpx
import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skynet.engine.errors import BlankPrompt, Redactor, StreamCut
from skynet.engine.events import Status, TextDelta
from skynet.engine.providers.base import Finish
from skynet.engine.reliability import (
    AttemptFailed,
    Circuits,
    DeletionLedger,
    Reliability,
    RetryPolicy,
    classify,
)
from skynet.engine.reliability.circuit import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from skynet.engine.reliability.failover import Trying
from skynet.engine.reliability.guards import INVISIBLE as INVISIBLE_LETTERS
from skynet.engine.reliability.guards import check_visible

# Timing varies on a loaded CI machine; the properties do not depend on it.
settings.register_profile("skynet", deadline=None)
settings.load_profile("skynet")

# -- helpers ----------------------------------------------------------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: List[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def status_error(status: int, *, retry_after=None, code=None) -> openai.APIStatusError:
    headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
    request = httpx.Request("POST", "http://x/v1/chat/completions")
    response = httpx.Response(status, headers=headers, request=request)
    body = {"message": "boom", "code": code}
    cls = {401: openai.AuthenticationError, 404: openai.NotFoundError, 429: openai.RateLimitError}.get(
        status, openai.InternalServerError if status >= 500 else openai.BadRequestError
    )
    return cls("boom", response=response, body=body)


def connection_refused() -> openai.APIConnectionError:
    return openai.APIConnectionError(request=httpx.Request("POST", "http://x/v1/chat/completions"))


def scripted(plan):
    """An attempt function: ``plan[endpoint]`` is a list of outcomes, one per attempt: an
    exception (raised before any text), a string (streamed as the answer) or ("text", exc) (text
    then a failure)."""
    calls: List[str] = []

    def attempt(endpoint: str, model: str):
        calls.append(endpoint)
        outcome = plan[endpoint].pop(0)

        async def parts():
            if isinstance(outcome, BaseException):
                raise outcome
            if isinstance(outcome, tuple):
                yield TextDelta(outcome[0])
                raise outcome[1]
            yield TextDelta(outcome)
            yield Finish("stop")

        return parts()

    return attempt, calls


def reliability(time: FakeTime, **policy) -> Reliability:
    policy = {"status_after": 3.0, "deadline": 120.0, **policy}
    return Reliability(
        RetryPolicy(**policy), Circuits(3, 30.0, time.clock), time.clock, time.sleep, random.Random(1)
    )


async def collect(rel: Reliability, chain, attempt):
    out = []
    try:
        async for part in rel.stream(chain, attempt):
            out.append(part)
    except AttemptFailed as exc:
        out.append(exc)
    return out


# -- retry policy -----------------------------------------------------------------------------


@given(attempt=st.integers(0, 20), seed=st.integers(0, 1000))
def test_backoff_grows_but_never_exceeds_the_cap(attempt, seed):
    policy = RetryPolicy(base_delay=0.5, max_delay=8.0)
    wait = policy.wait_for(attempt, None, random.Random(seed))
    assert 0 < wait <= 8.0
    assert wait >= min(8.0, 0.5 * 2**attempt) / 4


@given(retry_after=st.floats(0, 1000, allow_nan=False))
def test_retry_after_is_honoured_up_to_the_cap(retry_after):
    wait = RetryPolicy(retry_after_cap=30).wait_for(0, retry_after, random.Random(0))
    assert wait == (retry_after if retry_after <= 30 else None)


@pytest.mark.parametrize(
    "exc, kind, retry, failover",
    [
        (status_error(401), "refused", False, False),
        (status_error(404), "refused", False, False),
        (status_error(400), "refused", False, False),
        (status_error(429, retry_after=2), "rate_limited", True, True),
        (status_error(429, code="insufficient_quota"), "quota", False, True),
        (status_error(500), "provider_down", True, True),
        (status_error(503), "provider_down", True, True),
        (connection_refused(), "provider_down", True, True),
        (httpx.ReadTimeout("slow"), "timeout", False, True),  # another try costs the whole timeout
        (StreamCut("cut"), "stream_cut", True, True),
    ],
)
def test_failures_are_sorted_into_retry_and_failover(exc, kind, retry, failover):
    verdict = classify(exc)
    assert (verdict.kind, verdict.retry, verdict.failover) == (kind, retry, failover)


def test_retry_after_header_is_read():
    assert classify(status_error(429, retry_after=7)).retry_after == 7.0


# -- circuit breaker --------------------------------------------------------------------------


def test_circuit_opens_after_n_failures_half_opens_after_cooldown_and_closes_on_success():
    time = FakeTime()
    breaker = CircuitBreaker(3, 30.0, time.clock)
    for _ in range(2):
        breaker.record_failure()
    assert breaker.state == CLOSED and breaker.allow()
    breaker.record_failure()
    assert breaker.state == OPEN and not breaker.allow()
    assert "paused for 30 s" in breaker.describe()
    time.now += 30
    assert breaker.state == HALF_OPEN
    assert breaker.allow() and not breaker.allow()  # one probe at a time
    breaker.record_failure()  # the probe failed: open again, cool-down restarts
    assert breaker.state == OPEN
    time.now += 30
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == CLOSED and breaker.allow()


# -- the failover chain -----------------------------------------------------------------------


async def test_short_rate_limit_is_waited_out_silently_then_answered():
    time = FakeTime()
    attempt, calls = scripted({"a": [status_error(429, retry_after=1), "hi"]})
    out = await collect(reliability(time), [("a", "m")], attempt)
    assert [p for p in out if isinstance(p, TextDelta)] == [TextDelta("hi")]
    assert not any(isinstance(p, Status) for p in out)  # 1 s is below the 3 s status threshold
    assert time.slept == [1.0] and calls == ["a", "a"]


async def test_long_wait_shows_a_status_line_first():
    time = FakeTime()
    attempt, _ = scripted({"a": [status_error(429, retry_after=20), "hi"]})
    out = await collect(reliability(time), [("a", "m")], attempt)
    assert out[0] == Status("⏳ The provider is busy, retrying in 20 s…")
    assert out[1] == TextDelta("hi")


async def test_rate_limit_past_the_cap_moves_to_the_fallback_without_waiting():
    time = FakeTime()
    attempt, calls = scripted({"a": [status_error(429, retry_after=600)], "b": ["from b"]})
    out = await collect(reliability(time), [("a", "m"), ("b", "n")], attempt)
    assert out[0] == Trying("b", "n", "a was rate-limiting requests")
    assert TextDelta("from b") in out and time.slept == [] and calls == ["a", "b"]


async def test_refusals_are_not_retried_nor_failed_over():
    time = FakeTime()
    attempt, calls = scripted({"a": [status_error(401)], "b": ["from b"]})
    [failed] = await collect(reliability(time), [("a", "m"), ("b", "n")], attempt)
    assert isinstance(failed, AttemptFailed) and failed.endpoint == "a" and calls == ["a"]


async def test_text_shown_is_never_followed_by_a_retry_or_a_fallback():
    time = FakeTime()
    attempt, calls = scripted({"a": [("partial", httpx.RemoteProtocolError("cut"))], "b": ["b"]})
    out = await collect(reliability(time), [("a", "m"), ("b", "n")], attempt)
    assert out[0] == TextDelta("partial")
    assert isinstance(out[-1], AttemptFailed) and out[-1].shown and calls == ["a"]


async def test_servers_errors_are_retried_then_the_chain_moves_on():
    time = FakeTime()
    attempt, calls = scripted({"a": [status_error(503)] * 3, "b": ["ok"]})
    out = await collect(reliability(time, max_attempts=3), [("a", "m"), ("b", "n")], attempt)
    assert calls == ["a", "a", "a", "b"] and len(time.slept) == 2 and TextDelta("ok") in out


async def test_a_request_and_its_retries_count_as_one_failure_of_the_endpoint():
    time = FakeTime()
    rel = reliability(time, max_attempts=3)
    attempt, calls = scripted({"a": [status_error(503)] * 3, "b": ["ok"]})
    await collect(rel, [("a", "m"), ("b", "n")], attempt)
    assert calls.count("a") == 3 and rel.circuits.get("a").failures == 1
    assert rel.circuits.get("a").describe() == "in use; its last request failed"


async def test_an_open_circuit_skips_the_endpoint_until_the_cooldown():
    time = FakeTime()
    rel = reliability(time, max_attempts=1)
    attempt, calls = scripted({"a": [connection_refused()] * 4, "b": ["ok"] * 5})
    for _ in range(3):
        await collect(rel, [("a", "m"), ("b", "n")], attempt)
    assert rel.circuits.get("a").state == OPEN
    calls.clear()
    out = await collect(rel, [("a", "m"), ("b", "n")], attempt)
    assert calls == ["b"] and out[0].because == "a was unavailable"
    time.now += 31  # half-open: one probe goes to a again
    calls.clear()
    await collect(rel, [("a", "m"), ("b", "n")], attempt)
    assert calls == ["a", "b"]


async def test_the_deadline_bounds_all_waiting():
    time = FakeTime()
    attempt, calls = scripted({"a": [status_error(429, retry_after=20)] * 5})
    [*_, failed] = await collect(reliability(time, deadline=30, max_attempts=5), [("a", "m")], attempt)
    assert isinstance(failed, AttemptFailed) and sum(time.slept) <= 30 and len(calls) == 2


async def test_a_stalled_first_token_gets_a_waiting_status_line():
    import asyncio

    async def slow(endpoint, model):
        await asyncio.sleep(0.2)
        yield TextDelta("late")

    out = await collect(Reliability(RetryPolicy(status_after=0.05)), [("a", "m")], slow)
    assert out == [Status("⏳ Waiting for **a** to answer…"), TextDelta("late")]


# -- deletion tombstones ----------------------------------------------------------------------


def test_a_deletion_invalidates_guards_taken_before_it_only():
    ledger = DeletionLedger()
    before, other = ledger.guard(1), ledger.guard(2)
    ledger.forget(1)
    assert not before.allowed and other.allowed and ledger.guard(1).allowed


# -- secrets and blank prompts ----------------------------------------------------------------

SECRET = "sk-test-4f9a1c2e7b3d5a8f6e0c"


@given(start=st.integers(0, len(SECRET) - 8), length=st.integers(8, len(SECRET)), around=st.text(max_size=30))
def test_any_run_of_eight_characters_of_a_key_is_redacted(start, length, around):
    fragment = SECRET[start : start + length]
    redacted = Redactor([SECRET]).redact(f"{around}{fragment}{around}")
    for i in range(len(SECRET) - 7):
        assert SECRET[i : i + 8] not in redacted


def test_redaction_keeps_ordinary_text():
    assert Redactor([SECRET]).redact("The model `gpt-test` is busy.") == "The model `gpt-test` is busy."


INVISIBLE = st.sampled_from(
    ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u3164", "\u2800", " ", "\n", "\u00ad", "\u180e"]
)


@given(st.lists(INVISIBLE, max_size=50).map("".join))
def test_a_prompt_of_only_invisible_characters_is_refused(text):
    with pytest.raises(BlankPrompt):
        check_visible(text)


@settings(max_examples=200)
@given(st.text(min_size=1).filter(lambda t: any(ch.isalnum() and ch not in INVISIBLE_LETTERS for ch in t)))
def test_a_prompt_with_a_letter_or_digit_is_accepted(text):
    assert check_visible(text) == text
