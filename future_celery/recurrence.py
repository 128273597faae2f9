"""The schedule arithmetic of recurring jobs: when each occurrence (slot) of a schedule falls.

A slot is an instant (an aware datetime in UTC) computed from the schedule alone, never from
when a process started or last ran, so every process finds the same slots, after any restart.

Kinds of schedule (``parse()`` reads them):

- Elapsed time (``every`` seconds: "5 seconds", "10 minutes", "2h", 90): slots at whole
  multiples of the interval since the Unix epoch, 1970-01-01 00:00 UTC. "every 10 minutes"
  runs at :00, :10, ...; "every 7 seconds" at epoch + 7k. Time zones and DST play no part.
- Days (``days``: "2 days", "1 week", "3d"): the wall-clock time ``at`` in ``tz`` on each
  local date whose day number since 1970-01-01 is a multiple of ``days``, so that "every 2
  days" falls on the same dates in every process. "every 1 week" therefore runs on Thursdays
  (1970-01-01 was one); a weekday ("every = monday") picks another day of the week.
- Weekday ("monday" ... "sunday"): that day of the week, at ``at`` in ``tz``.
- Cron (five fields, read by Celery's ``crontab_parser``): the matching wall-clock minutes in
  ``tz``. Day of week 0 or 7 is Sunday, names are mon..sun and jan..dec. When both day of month
  and day of week are restricted, a day matches if either does; as in Vixie cron a field that
  starts with "*" (``*``, ``*/2``) counts as unrestricted, and the two then must both match.

Daylight saving time, for the wall-clock schedules (days, weekday, cron):

- A wall time that happens twice (fall back: 02:30 on the last Sunday of October in
  Europe/Berlin) runs once, at its first occurrence (fold=0).
- A wall time that does not exist (spring forward: 02:30 on the last Sunday of March in
  Europe/Berlin) runs once, at the first instant after the gap: the moment of the change,
  03:00 local time (01:00 UTC). So a daily 02:30 job runs exactly once on both days. This holds
  for days and weekday schedules and for fixed-time cron expressions, whose minute and hour
  fields both name fixed values (neither starts with "*": "30 2 * * *", "0,30 1-3 * * *");
  several of their times inside one gap make one slot, at the change.
- A cron expression with "*" in its minute or hour field ("*/15 * * * *", "0 * * * *",
  "* 2 * * *") follows the real clock, as Vixie cron runs such jobs "based on the new time
  immediately": its wall minutes inside the gap do not exist and are skipped ("*/15" goes
  from 01:45 CET to 03:00 CEST, a quarter of an hour later), and on the fall-back day the
  repeated wall minutes run again when the clock goes back ("0 * * * *" in Europe/Berlin on
  2026-10-25 runs at 02:00 CEST, 02:00 CET and 03:00 CET: one hour apart throughout). Fixed-time
  expressions run once. This is the line Vixie cron draws between fixed-time and wildcard jobs;
  cronsim (healthchecks.io's) draws it the same way, and tests/unit/test_cron_against_cronsim.py
  holds ours against it.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import functools
import re
import zoneinfo
from collections.abc import Iterator

from celery.schedules import crontab_parser

from .exceptions import InvalidRecurrence, InvalidTimeSpec
from .timespec import UNIT_SECONDS

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_EPOCH_DAY = dt.date(1970, 1, 1).toordinal()
_EPOCH_WEEKDAY = dt.date(1970, 1, 1).weekday()  # a Thursday: 3
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Units of the interval words; day and week make a days schedule, the others elapsed time.
_WORD_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400}
_WORDS = re.compile(r"(\d+) (second|minute|hour|day|week)s?|(second|minute|hour|day|week)")
_OFFSET = re.compile(r"(?:\d+[wdhms])+")
_OFFSET_PART = re.compile(r"(\d+)([wdhms])")
_AT = re.compile(r"(\d{1,2}):(\d{2})")
# How far ahead a cron expression is searched for its next slot (at most this many months
# stepped over, and a month's days checked only when the month matches). parse() already
# refuses an expression that can never match; a rare one (Feb 29, or a date that must also
# be a given weekday, such as "0 0 */28 2 mon") can be years apart: 2100 is no leap year.
CRON_HORIZON_YEARS = 50

_EVERY_HELP = (
    "expected an interval such as '10 minutes', '1 hour', '2 days', '1 week' or '30s', "
    "a weekday such as 'sunday', or a whole number of seconds"
)


@dataclasses.dataclass(frozen=True)
class Recurrence:
    """A recurring schedule; exactly one of ``every``, ``days``, ``weekday`` and ``cron`` is
    set. Build it with ``parse()``, which checks it."""

    every: int | None = None  # interval in seconds, for second/minute/hour units
    days: int | None = None  # interval in days, for day/week units (a week is 7 days)
    weekday: int | None = None  # 0 = Monday ... 6 = Sunday
    at: dt.time | None = None  # wall-clock time of day for days and weekday schedules
    cron: str | None = None  # a five-field cron expression, fields separated by one space
    tz: str = "UTC"  # IANA zone the wall-clock times are read in


def parse(
    every: str | int | None = None,
    at: str | dt.time | None = None,
    cron: str | None = None,
    tz: str | None = None,
) -> Recurrence:
    """The Recurrence that ``every`` (or ``cron``), ``at`` and ``tz`` describe; ``tz``
    defaults to settings.TIME_ZONE. Raises InvalidRecurrence for what it cannot read."""
    if (every is None) == (cron is None):
        raise InvalidRecurrence(
            "a recurring schedule needs exactly one of 'every' and 'cron', "
            f"got every={every!r}, cron={cron!r}"
        )
    zone = _zone_name(tz)
    if cron is not None:
        if at is not None:
            raise InvalidRecurrence(
                f"'at' does not go with cron (got at={at!r}): put the time of day in the "
                "cron expression's minute and hour fields"
            )
        text = _normal_cron(cron)
        _compile_cron(text)
        return Recurrence(cron=text, tz=zone)
    assert every is not None
    seconds, days, weekday = _read_every(every)
    if seconds is not None:
        if at is not None:
            raise InvalidRecurrence(
                f"'at' needs a schedule in days, weeks or a weekday, but every={every!r} "
                f"is elapsed time (got at={at!r})"
            )
        return Recurrence(every=seconds, tz=zone)
    return Recurrence(days=days, weekday=weekday, at=_read_at(at), tz=zone)


def next_slot(rec: Recurrence, after: dt.datetime) -> dt.datetime:
    """The first slot strictly after the aware datetime ``after``, in UTC."""
    _check_aware(after, "after")
    try:
        return _next(rec, after)
    except OverflowError:
        raise InvalidRecurrence(
            f"{describe(rec)} has no slot after {after} before year 10000"
        ) from None


def slots(rec: Recurrence, after: dt.datetime, until: dt.datetime) -> Iterator[dt.datetime]:
    """Every slot in (after, until], in order: the slots a tick missed, for instance."""
    _check_aware(after, "after")
    _check_aware(until, "until")
    _kind(rec)
    return _slots(rec, after, until)


def period(rec: Recurrence, *, now: dt.datetime | None = None) -> dt.timedelta:
    """The nominal interval between slots. For cron it is an estimate: the gap between the
    next two slots after ``now`` (the current time by default), which for "0 9 * * 1-5"
    is one day or three, and near a DST change can be an hour off."""
    kind = _kind(rec)
    if kind == "every":
        assert rec.every is not None
        return dt.timedelta(seconds=rec.every)
    if kind == "days":
        assert rec.days is not None
        return dt.timedelta(days=rec.days)
    if kind == "weekday":
        return dt.timedelta(days=7)
    first = next_slot(rec, now or dt.datetime.now(dt.UTC))
    return next_slot(rec, first) - first


def describe(rec: Recurrence) -> str:
    """The schedule in words for an admin column: 'every 10 minutes', 'every 2 days at 23:30
    (UTC)', 'sundays at 23:30 (Europe/Berlin)', 'cron 0 2 * * * (UTC)'."""
    kind = _kind(rec)
    if kind == "every":
        assert rec.every is not None
        return f"every {_elapsed_words(rec.every, short=True)}"
    if kind == "cron":
        return f"cron {rec.cron} ({rec.tz})"
    at = _at(rec).strftime("%H:%M")
    if kind == "weekday":
        assert rec.weekday is not None
        return f"{WEEKDAYS[rec.weekday]}s at {at} ({rec.tz})"
    assert rec.days is not None
    interval = _days_words(rec.days, short=True)
    if rec.days % 7 == 0:  # always the same day of the week: say which
        weekday = WEEKDAYS[(_EPOCH_WEEKDAY + _phase(rec)) % 7]
        return f"every {interval} on {weekday}s at {at} ({rec.tz})"
    return f"every {interval} at {at} ({rec.tz})"


def to_spec(rec: Recurrence) -> dict[str, str]:
    """The keywords of ``parse()`` that make ``rec`` again, as text (for an INI export):
    ``parse(**to_spec(rec)) == rec``."""
    kind = _kind(rec)
    spec: dict[str, str] = {}
    if kind == "every":
        assert rec.every is not None
        spec["every"] = _elapsed_words(rec.every)
    elif kind == "days":
        assert rec.days is not None
        spec["every"] = _days_words(rec.days)
    elif kind == "weekday":
        assert rec.weekday is not None
        spec["every"] = WEEKDAYS[rec.weekday]
    else:
        assert rec.cron is not None
        spec["cron"] = rec.cron
    if kind in ("days", "weekday"):
        spec["at"] = _at(rec).strftime("%H:%M")
    spec["tz"] = rec.tz
    return spec


# Reading


def _zone_name(tz: str | None) -> str:
    """``tz``, or settings.TIME_ZONE, checked to be a zoneinfo name."""
    if tz is None:
        from django.conf import settings  # here, so that the module imports without settings

        tz = settings.TIME_ZONE or "UTC"
    if not isinstance(tz, str):
        raise InvalidRecurrence(f"invalid time zone {tz!r}: expected an IANA name as text")
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidRecurrence(
            f"invalid time zone {tz!r}: expected an IANA name such as 'Europe/Berlin' or 'UTC'"
        ) from None
    return tz


def _read_every(every: str | int) -> tuple[int | None, int | None, int | None]:
    """``every`` as (elapsed seconds, days, weekday), one of them set."""
    if isinstance(every, bool) or not isinstance(every, int | str):
        raise InvalidRecurrence(f"invalid every {every!r}: {_EVERY_HELP}")
    if isinstance(every, int):
        _check_positive(every, every)
        return every, None, None
    text = every.strip()
    if _OFFSET.fullmatch(text):
        return _read_offset(every, text)
    words = " ".join(text.lower().split())
    name = words.removesuffix("s")  # 'sundays' too
    if name in WEEKDAYS:
        return None, None, WEEKDAYS.index(name)
    match = _WORDS.fullmatch(words)
    if not match:
        raise InvalidRecurrence(f"invalid every {every!r}: {_EVERY_HELP}")
    number, unit = (int(match[1]), match[2]) if match[1] else (1, match[3])
    _check_positive(number, every)
    if unit in ("day", "week"):
        return None, number * _WORD_SECONDS[unit] // 86400, None
    return number * _WORD_SECONDS[unit], None, None


def _read_offset(every: str, text: str) -> tuple[int | None, int | None, int | None]:
    """An offset string of timespec ('10m', '2h', '1d', '1h30m') as an interval."""
    parts = [(int(number), unit) for number, unit in _OFFSET_PART.findall(text)]
    units = [unit for _, unit in parts]
    if len(units) != len(set(units)):
        raise InvalidRecurrence(f"invalid every {every!r}: a unit is given twice")
    if set(units) & set("wd") and set(units) & set("hms"):
        raise InvalidRecurrence(
            f"invalid every {every!r}: days or weeks (calendar days, at a time of day) do not "
            "mix with hours, minutes or seconds (elapsed time); say it in hours, e.g. '36h'"
        )
    total = sum(number * UNIT_SECONDS[unit] for number, unit in parts)
    _check_positive(total, every)
    if set(units) & set("wd"):
        return None, total // 86400, None
    return total, None, None


def _check_positive(number: int, every: str | int) -> None:
    if number <= 0:
        raise InvalidRecurrence(f"invalid every {every!r}: the interval must be positive")


def _read_at(at: str | dt.time | None) -> dt.time:
    """``at`` ('HH:MM', 24-hour clock) as a time; midnight when not given."""
    if at is None:
        return dt.time(0, 0)
    if isinstance(at, dt.time):
        if at.tzinfo is not None or at.second or at.microsecond:
            raise InvalidRecurrence(
                f"invalid at {at!r}: expected hours and minutes of the wall clock, without "
                "seconds or a time zone (the zone is 'tz')"
            )
        return at
    match = _AT.fullmatch(at.strip()) if isinstance(at, str) else None
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise InvalidRecurrence(f"invalid at {at!r}: expected a 24-hour time 'HH:MM', e.g. '23:30'")
    return dt.time(int(match[1]), int(match[2]))


@dataclasses.dataclass(frozen=True)
class _Cron:
    """A cron expression's matching values."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: tuple[int, ...]  # of the month
    months: frozenset[int]
    weekdays: frozenset[int]  # Python's numbering: 0 = Monday
    days_or: bool  # day of month and day of week both restricted: a day matches either
    fixed: bool  # minute and hour fields both fixed: a time in a DST gap moves past it


_MONTH_NAMES = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
_DOW_NAMES = "sun|mon|tue|wed|thu|fri|sat"


def _part_pattern(names: str = "") -> re.Pattern[str]:
    """One comma-separated part of a cron field: *, n, a-b, */s or a-b/s."""
    value = rf"(?:\d+|{names})" if names else r"\d+"
    return re.compile(rf"\*(?:/\d+)?|{value}-{value}(?:/\d+)?|{value}")


# (name, what it holds, crontab_parser's max_ and min_, the pattern of its parts)
_FIELDS = (
    ("minute", "0-59", 60, 0, _part_pattern()),
    ("hour", "0-23", 24, 0, _part_pattern()),
    ("day-of-month", "1-31", 31, 1, _part_pattern()),
    ("month", "1-12 or jan-dec", 12, 1, _part_pattern(_MONTH_NAMES)),
    ("day-of-week", "0-7 (0 and 7 are Sunday) or sun-sat", 8, 0, _part_pattern(_DOW_NAMES)),
)


def _normal_cron(cron: str) -> str:
    """The cron expression in lower case with single spaces, checked to have five fields."""
    if not isinstance(cron, str):
        raise InvalidRecurrence(f"invalid cron {cron!r}: expected a five-field expression")
    fields = cron.lower().split()
    if len(fields) != 5:
        raise InvalidRecurrence(
            f"invalid cron {cron!r}: expected five fields (minute hour day-of-month month "
            f"day-of-week), got {len(fields)}"
        )
    return " ".join(fields)


@functools.lru_cache(maxsize=256)
def _compile_cron(text: str) -> _Cron:
    """A normalised cron expression's matching values (each schedule parses once)."""
    values = []
    for field, (name, holds, max_, min_, pattern) in zip(text.split(), _FIELDS, strict=True):
        bad = f"invalid cron {text!r}: bad {name} field {field!r} (expected {holds}"
        if not all(pattern.fullmatch(part) for part in field.split(",")):
            raise InvalidRecurrence(f"{bad}: numbers, ranges a-b, steps */n or a-b/n, lists)")
        try:
            values.append(crontab_parser(max_, min_).parse(field))
        except (crontab_parser.ParseException, ValueError) as exc:
            raise InvalidRecurrence(f"{bad}): {exc}") from None
    minutes, hours, days, months, cron_weekdays = values
    minute_field, hour_field, day_field, _, weekday_field = text.split()
    cron = _Cron(
        minutes=tuple(sorted(minutes)),
        hours=tuple(sorted(hours)),
        days=tuple(sorted(days)),
        months=frozenset(months),
        weekdays=frozenset((day - 1) % 7 for day in cron_weekdays),  # 0 and 7 are Sunday
        days_or=not day_field.startswith("*") and not weekday_field.startswith("*"),
        fixed=not minute_field.startswith("*") and not hour_field.startswith("*"),
    )
    # Every weekday falls on every date of the calendar over the years, so the expression
    # matches some day unless its days of the month exist in none of its months.
    longest = max(calendar.monthrange(2000, month)[1] for month in cron.months)  # a leap year
    if not cron.days_or and cron.days[0] > longest:
        raise InvalidRecurrence(
            f"invalid cron {text!r}: it never matches (no day {cron.days[0]} in its months)"
        )
    return cron


# Finding slots


def _kind(rec: Recurrence) -> str:
    """Which field of ``rec`` holds its schedule: every, days, weekday or cron."""
    kinds = [
        name for name in ("every", "days", "weekday", "cron") if getattr(rec, name) is not None
    ]
    if len(kinds) != 1:
        raise InvalidRecurrence(
            f"invalid recurrence {rec!r}: exactly one of every, days, weekday and cron is set "
            "in a schedule (build it with parse())"
        )
    return kinds[0]


def _check_aware(value: dt.datetime, name: str) -> None:
    if not isinstance(value, dt.datetime) or value.utcoffset() is None:
        raise InvalidTimeSpec(f"{name} must be an aware datetime, got {value!r}")


def _at(rec: Recurrence) -> dt.time:
    return rec.at if rec.at is not None else dt.time(0, 0)


def _phase(rec: Recurrence) -> int:
    """The day number since 1970-01-01, modulo the interval, of a days or weekday
    schedule's dates."""
    if rec.weekday is not None:
        return (rec.weekday - _EPOCH_WEEKDAY) % 7
    return 0


def _next(rec: Recurrence, after: dt.datetime) -> dt.datetime:
    kind = _kind(rec)
    if kind == "every":
        assert rec.every is not None
        step = dt.timedelta(seconds=rec.every)
        return EPOCH + ((after - EPOCH) // step + 1) * step
    zone = zoneinfo.ZoneInfo(rec.tz)
    if kind == "cron":
        assert rec.cron is not None
        return _next_cron(rec.cron, zone, after)
    interval = rec.days if rec.days is not None else 7
    at = _at(rec)
    # From the day before after's local date: a slot moved past a DST gap can fall a day late.
    number = after.astimezone(zone).date().toordinal() - _EPOCH_DAY - 1
    number += (_phase(rec) - number) % interval
    while True:
        day = dt.date.fromordinal(number + _EPOCH_DAY)
        slot = _wall_to_utc(dt.datetime.combine(day, at), zone)
        if slot > after:
            return slot
        number += interval


def _slots(rec: Recurrence, after: dt.datetime, until: dt.datetime) -> Iterator[dt.datetime]:
    if rec.every is not None:  # arithmetic, without a search per slot
        step = dt.timedelta(seconds=rec.every)
        slot = EPOCH + ((after - EPOCH) // step + 1) * step
        while slot <= until:
            yield slot
            slot += step
        return
    slot = next_slot(rec, after)
    while slot <= until:
        yield slot
        slot = next_slot(rec, slot)


def _next_cron(text: str, zone: zoneinfo.ZoneInfo, after: dt.datetime) -> dt.datetime:
    """The first instant after ``after`` that matches the cron expression on the wall clock
    of ``zone``.

    It walks the matching days only (months outside the expression are skipped whole), and
    within a day skips every hour that ends before ``after``: a handful of conversions."""
    cron = _compile_cron(_normal_cron(text))
    start = after.astimezone(zone).date() - dt.timedelta(days=1)
    one_day = dt.timedelta(days=1)
    # A wildcard expression's repeated wall minutes of a fall-back (fold=1) come after later
    # wall minutes' first occurrences: the earliest candidate is kept until a first occurrence
    # past ``after`` is found, after which no later wall time can come sooner.
    best: dt.datetime | None = None
    for day in _cron_days(cron, start):
        midnight = dt.datetime.combine(day, dt.time(0, 0))
        if _last_instant(midnight + one_day, zone, cron.fixed) <= after:
            continue
        for hour in cron.hours:
            hour_start = midnight + dt.timedelta(hours=hour)
            if _last_instant(hour_start + dt.timedelta(hours=1), zone, cron.fixed) <= after:
                continue
            for minute in cron.minutes:
                wall = hour_start + dt.timedelta(minutes=minute)
                first: dt.datetime | None
                if cron.fixed:
                    first, again = _wall_to_utc(wall, zone), None
                else:
                    first, again = _existing_to_utc(wall, zone), _repeated_to_utc(wall, zone)
                if again is not None and again > after and (best is None or again < best):
                    best = again
                if first is not None and first > after:
                    return first if best is None or first < best else best
    if best is not None:
        return best
    raise InvalidRecurrence(
        f"cron {text!r} matches no time within {CRON_HORIZON_YEARS} years after {after}"
    )


def _last_instant(wall: dt.datetime, zone: zoneinfo.ZoneInfo, fixed: bool) -> dt.datetime:
    """An instant no earlier than any occurrence of the wall times before ``wall``: its
    first occurrence for fixed-time expressions, its later one (after a fall-back) for
    wildcard ones."""
    if fixed:
        return _wall_to_utc(wall, zone)
    return max(wall.replace(tzinfo=zone, fold=fold).astimezone(dt.UTC) for fold in (0, 1))


def _cron_days(cron: _Cron, start: dt.date) -> Iterator[dt.date]:
    """The dates from ``start`` on that match the cron's day fields, up to the horizon."""
    year, month, first = start.year, start.month, start.day
    for _ in range(CRON_HORIZON_YEARS * 12):
        if year > dt.MAXYEAR:
            return
        if month in cron.months:
            length = calendar.monthrange(year, month)[1]
            candidates = range(first, length + 1) if cron.days_or else cron.days
            for number in candidates:
                if not first <= number <= length:
                    continue
                day = dt.date(year, month, number)
                in_days = number in cron.days
                in_weekdays = day.weekday() in cron.weekdays
                if (in_days or in_weekdays) if cron.days_or else (in_days and in_weekdays):
                    yield day
        year, month, first = (year + 1, 1, 1) if month == 12 else (year, month + 1, 1)


def _existing_to_utc(wall: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.datetime | None:
    """The naive wall time as a UTC instant, at its first occurrence; None when a DST gap
    skips it."""
    slot = wall.replace(tzinfo=zone).astimezone(dt.UTC)  # fold=0: the first occurrence
    if slot.astimezone(zone).replace(tzinfo=None) != wall:
        return None
    return slot


def _repeated_to_utc(wall: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.datetime | None:
    """The second occurrence of a naive wall time that a fall-back repeats, as a UTC instant;
    None for a wall time that happens once (or not at all)."""
    first = _existing_to_utc(wall, zone)
    second = wall.replace(tzinfo=zone, fold=1).astimezone(dt.UTC)
    if first is None or second == first:
        return None
    return second


def _wall_to_utc(wall: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """The naive wall time as a UTC instant, at its first occurrence; a time a DST gap skips
    is the instant of the change (03:00 local for 02:30 on Berlin's spring-forward day)."""
    slot = _existing_to_utc(wall, zone)
    if slot is not None:
        return slot
    # In the gap, fold=1 reads the wall time with the offset after the change (an instant
    # before it) and fold=0 with the offset before (an instant after it): bisect to the
    # change, to the second (zone data changes offsets on whole seconds).
    low = wall.replace(tzinfo=zone, fold=1).astimezone(dt.UTC)
    high = wall.replace(tzinfo=zone, fold=0).astimezone(dt.UTC)
    offset = low.astimezone(zone).utcoffset()
    second = dt.timedelta(seconds=1)
    while high - low > second:
        middle = low + (high - low) // 2 // second * second
        if middle.astimezone(zone).utcoffset() == offset:
            low = middle
        else:
            high = middle
    return high


def _elapsed_words(seconds: int, short: bool = False) -> str:
    """'10 minutes', '1 hour' ('hour' when short), '90 seconds'."""
    for unit in ("hour", "minute", "second"):
        size = _WORD_SECONDS[unit]
        if seconds % size == 0:
            return _count(seconds // size, unit, short)
    raise AssertionError(seconds)  # every whole number of seconds is a count of seconds


def _days_words(days: int, short: bool = False) -> str:
    """'2 days', '1 week' ('week' when short)."""
    if days % 7 == 0:
        return _count(days // 7, "week", short)
    return _count(days, "day", short)


def _count(number: int, unit: str, short: bool) -> str:
    if number == 1:
        return unit if short else f"1 {unit}"
    return f"{number} {unit}s"
