"""What the usage pages show, read from the usage series in one trip to the reader's thread.

Reports are cached until the usage store's next flush (the data cannot change before), so a
page that many people reload costs one set of queries per flush interval.
"""

from __future__ import annotations

import csv
import io
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..engine.usage import series, series_queries
from ..engine.usage.series import SeriesCounts
from ..engine.usage.series_reader import SeriesReader

PERIODS = (7, 30, 90, 365)
DEFAULT_PERIOD = 30
TOP = 100  # rows of the member table on the page (the CSV has all)
Pair = Tuple[Optional[float], Optional[float]]  # p50, p95 in ms


@dataclass
class UsageReport:
    first: int
    last: int
    days: List[Tuple[int, SeriesCounts]]
    totals: SeriesCounts
    models: List[Tuple[str, SeriesCounts]] = field(default_factory=list)
    channels: List[Tuple[str, SeriesCounts]] = field(default_factory=list)
    members: List[Tuple[str, SeriesCounts]] = field(default_factory=list)
    member_count: int = 0
    tools: List[Tuple[str, SeriesCounts, Pair]] = field(default_factory=list)
    first_text: Pair = (None, None)
    complete: Pair = (None, None)


def period_days(value: Any) -> int:
    try:
        days = int(value)
    except (TypeError, ValueError):
        return DEFAULT_PERIOD
    return days if days in PERIODS else DEFAULT_PERIOD


def _pair(counts: List[int]) -> Pair:
    return series_queries.percentile(counts, 0.5), series_queries.percentile(counts, 0.95)


def _filled(rows: List[Tuple[int, SeriesCounts]], first: int, last: int) -> List[Tuple[int, SeriesCounts]]:
    by_day = dict(rows)
    return [(day, by_day.get(day, SeriesCounts())) for day in range(first, last + 1)]


def _guild_report(
    db: sqlite3.Connection, guild_id: int, first: int, last: int, top: Optional[int]
) -> UsageReport:
    days = _filled(series_queries.daily(db, guild_id, "guild", "", first, last), first, last)
    totals = SeriesCounts()
    for _day, counts in days:
        totals.add(counts)
    tools = []
    for name, counts in series_queries.totals_by_key(db, guild_id, "tool", first, last):
        tools.append((name, counts, _pair(series_queries.histogram(db, guild_id, f"tool:{name}", first, last))))
    return UsageReport(
        first,
        last,
        days,
        totals,
        models=series_queries.totals_by_key(db, guild_id, "model", first, last),
        channels=series_queries.totals_by_key(db, guild_id, "channel", first, last),
        members=series_queries.totals_by_key(db, guild_id, "member", first, last, limit=top),
        member_count=series_queries.count_keys(db, guild_id, "member", first, last),
        tools=tools,
        first_text=_pair(series_queries.histogram(db, guild_id, "first", first, last)),
        complete=_pair(series_queries.histogram(db, guild_id, "complete", first, last)),
    )


def _member_report(db: sqlite3.Connection, guild_id: int, user_id: int, first: int, last: int) -> UsageReport:
    days = _filled(series_queries.daily(db, guild_id, "member", str(user_id), first, last), first, last)
    totals = SeriesCounts()
    for _day, counts in days:
        totals.add(counts)
    return UsageReport(first, last, days, totals)


class UsageData:
    def __init__(
        self, reader: SeriesReader, generation: Callable[[], Any], clock: Callable[[], float] = time.time
    ) -> None:
        self.reader = reader
        self.generation = generation  # changes when new data is stored (the last flush's time)
        self.clock = clock
        self._cache: Dict[tuple, Tuple[Any, UsageReport]] = {}

    def bounds(self, days: int) -> Tuple[int, int]:
        last = series.day_of(self.clock())
        return last - days + 1, last

    async def guild(self, guild_id: int, days: int, *, top: Optional[int] = TOP) -> UsageReport:
        first, last = self.bounds(days)
        key = ("guild", guild_id, first, last, top)
        generation = self.generation()
        cached = self._cache.get(key)
        if cached is not None and cached[0] == generation and generation is not None:
            return cached[1]
        report = await self.reader.run(_guild_report, guild_id, first, last, top)
        if len(self._cache) > 256:
            self._cache.clear()
        self._cache[key] = (generation, report)
        return report

    async def member(self, guild_id: int, user_id: int, days: int) -> UsageReport:
        first, last = self.bounds(days)
        return await self.reader.run(_member_report, guild_id, user_id, first, last)

    async def guilds_with_data(self) -> List[int]:
        return await self.reader.run(series_queries.guilds)

    def forget(self) -> None:
        self._cache.clear()


def day_label(day: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(day * series.DAY))


def to_csv(header: List[str], rows: List[List[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        # A cell starting with = + - @ is a formula in spreadsheets: quote it as text.
        writer.writerow([f"'{v}" if isinstance(v, str) and v[:1] in "=+-@" else v for v in row])
    return out.getvalue()
