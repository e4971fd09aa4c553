"""What images and audio cost and who may still draw (skynet.engine.media.budget): the owner's
price wins over the price book, the N+1th image of a member's day is refused (and a failed one
given back), media spend is charged to the same daily ledger as chat, and a USD budget refuses a
model without a price."""

from __future__ import annotations

import pytest

from skynet.engine.governance.errors import BudgetExhausted
from skynet.engine.governance.governor import Governor
from skynet.engine.governance.rules import parse_rules
from skynet.engine.media.budget import ImageQuota, admit_media, image_price, speech_price, transcription_price
from skynet.engine.usage.pricing import PriceBook


def test_prices():
    assert image_price("dall-e-3", None, None) == 0.04
    assert image_price("dall-e-3", "hd", "1792x1024") == 0.12
    assert image_price("openai/gpt-image-1", "low", "1024x1024") == 0.011
    assert image_price("gpt-image-1", "auto", "1536x1024") == 0.25  # auto -> high
    assert image_price("flux-dev", None, None) is None
    assert image_price("flux-dev", None, None, {"flux-dev": 0.003}) == 0.003
    assert image_price("dall-e-3", None, None, {"dall-e-3": 0.5}) == 0.5
    assert transcription_price("whisper-1", 30) == pytest.approx(0.003)
    assert speech_price("tts-1", 1000) == pytest.approx(0.015)


def test_the_n_plus_first_image_is_refused_and_a_new_day_starts_over():
    now = [1_000_000.0]
    quota = ImageQuota(lambda: now[0])
    for _ in range(3):
        quota.take(1, 7, limit=3)
    with pytest.raises(BudgetExhausted, match="3 images"):
        quota.take(1, 7, limit=3)
    quota.take(1, 8, limit=3)  # another member is not affected
    quota.give_back(1, 7)
    quota.take(1, 7, limit=3)  # a failed drawing did not count
    now[0] += 86_400
    assert quota.used(1, 7) == 0
    restored = ImageQuota(lambda: now[0])
    quota.take(1, 7, limit=3)
    restored.load(1, quota.dump(1))
    assert restored.used(1, 7) == 1 and restored.export_user(7) == {"1": 1}
    restored.forget_user(7)
    assert restored.used(1, 7) == 0


def test_media_spend_counts_against_the_daily_usd_budget():
    governor = Governor(lambda: PriceBook({}), clock=lambda: 1_000_000.0)
    rules = parse_rules({"budget": {"member": 0.10, "unit": "usd"}})
    who = dict(guild_id=1, user_id=7, role_ids=())
    for _ in range(2):
        admit_media(governor, rules, model="dall-e-3", price=0.04, **who).settle(0.04)
    ticket = admit_media(governor, rules, model="dall-e-3", price=0.04, **who)  # 0.02 left: admitted
    ticket.settle(0.04)
    with pytest.raises(BudgetExhausted, match="used up"):
        admit_media(governor, rules, model="dall-e-3", price=0.04, **who)
    with pytest.raises(BudgetExhausted, match="no known price"):
        admit_media(governor, rules, model="flux", price=None, guild_id=1, user_id=8, role_ids=())
    refunded = admit_media(governor, rules, model="dall-e-3", price=0.04, guild_id=1, user_id=9, role_ids=())
    refunded.settle(0.0)  # refused by the provider: nothing charged
    assert governor.remaining(rules.budgets, 1, 9, ()).spent == 0
