"""Scheduled prompts and members' reminders: when they run, decided on plain data.

A schedule's rule is a cron expression (``0 9 * * 1-5``, via croniter) or an interval
(``every 1d at 09:00``, ``every 6h``), read in the server's time zone. Each schedule keeps the
next slot it has not run yet (``next_run``); :meth:`ScheduleBook.due` hands out every schedule
whose slot has come and moves ``next_run`` past *now* in the same step, so:

- a slot runs once, also across restarts (the shell saves the book before it runs anything);
- after downtime the missed slots of one schedule become one run (no burst), or none when even
  the latest missed slot is more than ``CATCH_UP`` old (a morning post is not sent at night);
- reminders (one-shot) are always delivered, late if the bot was down.
"""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import Any, Dict, Iterable, List, Optional, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import InvalidValue
from ..i18n import _

MIN_INTERVAL = 600  # a schedule runs at most every 10 minutes
MAX_SCHEDULES = 25  # per server
MAX_REMINDERS = 25  # per member
MAX_PROMPT_CHARS = 1500
MAX_AHEAD = 366 * 86400  # a reminder at most a year ahead
CATCH_UP = 6 * 3600  # a missed slot older than this is skipped, not run late
UNITS = {"m": 60, "min": 60, "minute": 60, "minutes": 60, "h": 3600, "hour": 3600, "hours": 3600,
         "d": 86400, "day": 86400, "days": 86400, "w": 604800, "week": 604800, "weeks": 604800}
PROMPT, REMINDER = "prompt", "reminder"


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True)
class Rule:
    """When a schedule runs. ``text`` is what the admin wrote, normalised."""

    text: str
    cron: Optional[str] = None
    every: Optional[int] = None  # seconds
    at: Optional[Tuple[int, int]] = None  # local hour and minute, for day and week intervals


def _clock_time(text: str) -> Tuple[int, int]:
    match = re.fullmatch(r"([01]?\d|2[0-3])[:h]([0-5]\d)", text.strip().lower())
    if not match:
        raise InvalidValue(_("`{time}` is not a time of day; write it like `09:00` or `18:30`.").format(time=text[:20]))
    return int(match.group(1)), int(match.group(2))


def parse_rule(text: str) -> Rule:
    """``every 1d at 09:00``, ``every 6h``, ``every week at 18:00`` or a 5-field cron expression."""
    words = " ".join(text.strip().strip('"').split()).lower()
    match = re.fullmatch(r"every\s+(\d+)?\s*([a-z]+)(?:\s+at\s+(\S+))?", words)
    if match:
        count = int(match.group(1) or 1)
        unit = UNITS.get(match.group(2))
        if unit is None or count < 1:
            raise InvalidValue(_("Write an interval like `every 1d at 09:00`, `every 6h` or `every 1w at 18:00`."))
        every = count * unit
        at = _clock_time(match.group(3)) if match.group(3) else None
        if at is not None and every % 86400:
            raise InvalidValue(_("`at` goes with days or weeks, e.g. `every 1d at 09:00`."))
        if every < MIN_INTERVAL:
            raise InvalidValue(_("A schedule runs at most every 10 minutes."))
        if every > MAX_AHEAD:
            raise InvalidValue(_("A schedule runs at least once a year."))
        label = f"every {count}{'m' if unit == 60 else 'h' if unit == 3600 else 'd' if unit == 86400 else 'w'}"
        return Rule(label + (f" at {at[0]:02d}:{at[1]:02d}" if at else ""), every=every, at=at)
    return _cron_rule(words)


def _cron_rule(words: str) -> Rule:
    from croniter import croniter  # imported on use: only schedules need it

    if len(words.split()) != 5 or not croniter.is_valid(words):
        raise InvalidValue(
            _("`{text}` is neither an interval (`every 1d at 09:00`) nor a cron expression (`0 9 * * 1-5`).").format(
                text=words[:60]
            )
        )
    start = datetime(2026, 1, 5, tzinfo=ZoneInfo("UTC"))
    itr = croniter(words, start)
    runs = [itr.get_next(float) for _run in range(6)]
    if min(b - a for a, b in zip(runs, runs[1:])) < MIN_INTERVAL:
        raise InvalidValue(_("A schedule runs at most every 10 minutes."))
    return Rule(words, cron=words)


def next_slot(rule: Rule, after: float, tz: str, anchor: float) -> float:
    """The first slot strictly after ``after`` (seconds since the epoch). Interval slots count
    from ``anchor`` (when the schedule was made); day and week slots fall at ``at`` local time."""
    tzinfo = zone(tz)
    if rule.cron:
        from croniter import croniter

        return croniter(rule.cron, datetime.fromtimestamp(after, tzinfo)).get_next(float)
    assert rule.every is not None
    if rule.at is None:
        steps = math.floor((after - anchor) / rule.every) + 1
        return anchor + max(steps, 1) * rule.every
    days = rule.every // 86400
    first = datetime.fromtimestamp(anchor, tzinfo).date()
    if _local(first, rule.at, tzinfo) <= anchor:
        first += timedelta(days=1)
    day = datetime.fromtimestamp(after, tzinfo).date()
    k = max(0, (day - first).days // days)
    while True:
        slot = _local(first + timedelta(days=k * days), rule.at, tzinfo)
        if slot > after:
            return slot
        k += 1


def _local(day: date, at: Tuple[int, int], tzinfo: ZoneInfo) -> float:
    return datetime.combine(day, dtime(at[0], at[1]), tzinfo=tzinfo).timestamp()


def parse_moment(text: str, now: float, tz: str) -> float:
    """When a reminder fires: ``in 2h``, ``in 30m``, ``tomorrow 09:00``, ``09:00`` (the next one)
    or ``2026-12-24 18:00``, local time in ``tz``."""
    words = " ".join(text.strip().lower().split())
    tzinfo = zone(tz)
    local_now = datetime.fromtimestamp(now, tzinfo)
    when: Optional[float] = None
    match = re.fullmatch(r"in\s+(\d+(?:\.\d+)?)\s*([a-z]+)", words)
    if match and match.group(2) in UNITS:
        when = now + float(match.group(1)) * UNITS[match.group(2)]
    elif re.fullmatch(r"(tomorrow\s+)?\d{1,2}[:h]\d{2}", words):
        tomorrow = words.startswith("tomorrow")
        at = _clock_time(words.split()[-1])
        day = local_now.date() + timedelta(days=1 if tomorrow else 0)
        when = _local(day, at, tzinfo)
        if when <= now:
            when = _local(day + timedelta(days=1), at, tzinfo)
    else:
        match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})[ t](\d{1,2}[:h]\d{2})", words)
        if match:
            try:
                day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
            except ValueError:
                day = None
            if day is not None:
                when = _local(day, _clock_time(match.group(4)), tzinfo)
    if when is None:
        raise InvalidValue(
            _("I can't read `{text}` as a time; say `in 2h`, `tomorrow 09:00` or `2026-12-24 18:00`.").format(
                text=text[:40]
            )
        )
    if when <= now:
        raise InvalidValue(_("That time has already passed."))
    if when - now > MAX_AHEAD:
        raise InvalidValue(_("A reminder can be at most a year ahead."))
    return when


@dataclass(frozen=True)
class Schedule:
    id: str
    guild_id: int
    channel_id: int
    author_id: int
    rule: str  # Rule.text, or "" for a reminder
    prompt: str
    next_run: float
    created: float
    kind: str = PROMPT
    persona: Optional[str] = None
    paused: bool = False
    last_run: Optional[float] = None

    def to_json(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "Schedule":
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class Due:
    schedule: Schedule
    late: float  # seconds after its slot


@dataclass
class ScheduleBook:
    """Every schedule and reminder of the bot, in memory; the shell persists :meth:`dump`."""

    schedules: Dict[str, Schedule] = field(default_factory=dict)

    @classmethod
    def load(cls, rows: Iterable[Dict[str, Any]]) -> "ScheduleBook":
        book = cls()
        for row in rows:
            try:
                schedule = Schedule.from_json(row)
            except TypeError:
                continue  # a row of an unknown shape is skipped, not fatal
            book.schedules[schedule.id] = schedule
        return book

    def dump(self, guild_id: int) -> List[Dict[str, Any]]:
        return [s.to_json() for s in self.in_guild(guild_id, kinds=(PROMPT, REMINDER))]

    def in_guild(self, guild_id: int, kinds: Tuple[str, ...] = (PROMPT,)) -> List[Schedule]:
        found = [s for s in self.schedules.values() if s.guild_id == guild_id and s.kind in kinds]
        return sorted(found, key=lambda s: s.created)

    def get(self, guild_id: int, schedule_id: str) -> Schedule:
        found = self.schedules.get(schedule_id.strip().lower())
        if found is None or found.guild_id != guild_id or found.kind != PROMPT:
            raise InvalidValue(
                _("There is no schedule `{id}` here; `[p]ai schedule list` shows them.").format(id=schedule_id[:20])
            )
        return found

    def add(self, *, guild_id: int, channel_id: int, author_id: int, rule: Rule, prompt: str,
            now: float, tz: str, persona: Optional[str] = None) -> Schedule:
        prompt = prompt.strip()
        if not prompt:
            raise InvalidValue(_("Write the prompt after the time, e.g. `[p]ai schedule add #news \"every 1d at 09:00\" Post a fun fact.`"))
        if len(prompt) > MAX_PROMPT_CHARS:
            raise InvalidValue(_("A scheduled prompt has at most {limit} characters.").format(limit=MAX_PROMPT_CHARS))
        if len(self.in_guild(guild_id)) >= MAX_SCHEDULES:
            raise InvalidValue(_("A server can have at most {limit} schedules.").format(limit=MAX_SCHEDULES))
        schedule = Schedule(self._new_id(), guild_id, channel_id, author_id, rule.text, prompt,
                            next_slot(rule, now, tz, now), now, PROMPT, persona)
        self.schedules[schedule.id] = schedule
        return schedule

    def add_reminder(self, *, guild_id: int, channel_id: int, user_id: int, text: str, when: float, now: float) -> Schedule:
        text = " ".join(text.split())[:MAX_PROMPT_CHARS]
        if not text:
            raise InvalidValue(_("A reminder needs a text."))
        mine = [s for s in self.schedules.values() if s.kind == REMINDER and s.author_id == user_id]
        if len(mine) >= MAX_REMINDERS:
            raise InvalidValue(_("You can have at most {limit} reminders.").format(limit=MAX_REMINDERS))
        reminder = Schedule(self._new_id(), guild_id, channel_id, user_id, "", text, when, now, REMINDER)
        self.schedules[reminder.id] = reminder
        return reminder

    def _new_id(self) -> str:
        while True:
            candidate = secrets.token_hex(3)
            if candidate not in self.schedules:
                return candidate

    def remove(self, schedule_id: str) -> None:
        self.schedules.pop(schedule_id, None)

    def set_paused(self, schedule: Schedule, paused: bool, now: float, tz: str) -> Schedule:
        updated = replace(schedule, paused=paused)
        if not paused:  # resuming does not run the slots missed while paused
            updated = replace(updated, next_run=next_slot(parse_rule(schedule.rule), now, tz, schedule.created))
        self.schedules[schedule.id] = updated
        return updated

    def retime(self, guild_id: int, tz: str, now: float) -> None:
        """The server's time zone changed: the next slots move to the new local times."""
        for schedule in self.in_guild(guild_id):
            rule = parse_rule(schedule.rule)
            self.schedules[schedule.id] = replace(schedule, next_run=next_slot(rule, now, tz, schedule.created))

    def due(self, now: float, tz_of) -> Tuple[List[Due], List[Schedule]]:
        """Claim the schedules whose slot has come: returns (to run, skipped as too late) and
        moves each one's ``next_run`` past ``now`` (reminders leave the book). ``tz_of(guild_id)``
        is the server's time zone."""
        run: List[Due] = []
        skipped: List[Schedule] = []
        for schedule in list(self.schedules.values()):
            if schedule.paused or schedule.next_run > now:
                continue
            if schedule.kind == REMINDER:
                del self.schedules[schedule.id]
                run.append(Due(schedule, now - schedule.next_run))
                continue
            rule = parse_rule(schedule.rule)
            tz = tz_of(schedule.guild_id)
            latest = self._latest_slot(rule, schedule, now, tz)
            self.schedules[schedule.id] = replace(
                schedule, next_run=next_slot(rule, now, tz, schedule.created),
                last_run=now if now - latest <= CATCH_UP else schedule.last_run,
            )
            if now - latest <= CATCH_UP:
                run.append(Due(schedule, now - latest))
            else:
                skipped.append(schedule)
        return run, skipped

    @staticmethod
    def _latest_slot(rule: Rule, schedule: Schedule, now: float, tz: str) -> float:
        """The most recent slot at or before ``now`` (starting from the one not run yet)."""
        slot = schedule.next_run
        for _step in range(100_000):  # 10-minute slots over two years at most
            following = next_slot(rule, slot, tz, schedule.created)
            if following > now:
                return slot
            slot = following
        return slot

    # -- data about people (the data map)

    def export_user(self, user_id: int) -> Dict[str, Any]:
        mine = [s.to_json() for s in self.schedules.values() if s.author_id == user_id]
        return {"schedules": [s for s in mine if s["kind"] == PROMPT],
                "reminders": [s for s in mine if s["kind"] == REMINDER]}

    def forget_user(self, user_id: int, guild_id: Optional[int] = None) -> List[int]:
        """Delete what ``user_id`` wrote (their reminders and the schedules they made); returns the
        servers whose books changed, for the shell to save."""
        changed = set()
        for schedule in list(self.schedules.values()):
            if schedule.author_id == user_id and (guild_id is None or schedule.guild_id == guild_id):
                del self.schedules[schedule.id]
                changed.add(schedule.guild_id)
        return sorted(changed)
