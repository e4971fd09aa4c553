"""The moderation client against a local server with the documented ``omni-moderation-latest``
response shape (skynet_dev/fake_moderation.py), through the real openai SDK, outages included."""

from __future__ import annotations

import pytest

from skynet.engine.errors import InvalidValue
from skynet.engine.privacy.moderation import (
    CLOSED,
    OPEN,
    ModerationClient,
    ModerationSettings,
    parse_threshold,
)
from skynet.engine.privacy.wordlist import BlockedWords
from skynet_dev.fake_moderation import FakeModeration


@pytest.fixture
async def server():
    async with FakeModeration() as fake:
        yield fake


@pytest.fixture
async def client():
    made = ModerationClient(timeout=1.0)
    yield made
    await made.close()


async def test_flagged_text_and_clean_text(server, client):
    settings = ModerationSettings(endpoint=server.url)
    verdict = await client.check(settings, "I will kill it", api_key="sk-test-1234567890")
    assert verdict.flagged and verdict.categories == ("violence",) and not verdict.outage
    assert (await client.check(settings, "hello there")).flagged is False
    assert server.requests[0]["model"] == "omni-moderation-latest"
    assert server.requests[0]["input"] == [{"type": "text", "text": "I will kill it"}]
    assert server.authorized[0]


async def test_thresholds_per_category(server, client):
    # "meh" scores harassment 0.3: below the endpoint's own flag, above an admin's 0.2
    settings = ModerationSettings(endpoint=server.url)
    assert not (await client.check(settings, "meh")).flagged
    settings.thresholds = {"harassment": 0.2}
    assert (await client.check(settings, "meh")).categories == ("harassment",)
    # a stricter-than-default threshold lets "idiot" (0.6) through
    settings.thresholds = {"harassment": 0.9}
    assert not (await client.check(settings, "you idiot")).flagged


async def test_images_are_sent_with_the_text(server, client):
    settings = ModerationSettings(endpoint=server.url)
    verdict = await client.check(settings, "look", images=["https://example.invalid/gore.png"])
    assert verdict.categories == ("violence/graphic",)
    assert server.requests[0]["input"][1] == {"type": "image_url", "image_url": {"url": "https://example.invalid/gore.png"}}


async def test_blocked_words_need_no_request(server, client):
    settings = ModerationSettings(endpoint=server.url, words=BlockedWords(["spam*"]))
    verdict = await client.check(settings, "SPAMMING again")
    assert verdict.flagged and verdict.categories == ("words:spam*",)
    assert server.requests == []
    assert not (await client.check(ModerationSettings(words=BlockedWords(["x"])), "hello")).flagged


@pytest.mark.parametrize("outage", ["500", "429", "garbage", "hang"])
async def test_an_outage_is_reported_and_the_admin_choice_decides(server, client, outage):
    server.outage = outage
    open_verdict = await client.check(ModerationSettings(endpoint=server.url, on_outage=OPEN), "hello")
    assert open_verdict.outage and not open_verdict.flagged
    assert "hello" not in open_verdict.detail
    closed = await client.check(ModerationSettings(endpoint=server.url, on_outage=CLOSED), "hello")
    assert closed.outage and closed.flagged


async def test_an_endpoint_that_is_not_there(client):
    verdict = await client.check(ModerationSettings(endpoint="http://127.0.0.1:9/v1", on_outage=CLOSED), "hi")
    assert verdict.outage and verdict.flagged


def test_threshold_parsing():
    assert parse_threshold("Violence", "0.4") == ("violence", 0.4)
    assert parse_threshold("hate", "default") == ("hate", None)
    for category, value in (("nope", "0.5"), ("hate", "2"), ("hate", "x"), ("hate", "0")):
        with pytest.raises(InvalidValue):
            parse_threshold(category, value)


def test_settings_round_trip():
    settings = ModerationSettings.from_json(
        {"endpoint": "http://x/v1", "words": ["spam*"], "thresholds": {"hate": 0.3}, "action": "report", "on_outage": "closed"}
    )
    assert settings.active and settings.words.find("spammy") and settings.thresholds == {"hate": 0.3}
    assert not ModerationSettings.from_json(None).active
