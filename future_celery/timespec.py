"""Reading the times a job is given: datetimes, timedeltas and offset strings like '1d12h'."""

from __future__ import annotations

import datetime as dt
import functools
import re

from django.utils import timezone

from .exceptions import InvalidTimeSpec

When = dt.datetime | dt.timedelta | str

UNIT_SECONDS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_OFFSET = re.compile(r"(?:\d+[wdhms])+")
_PART = re.compile(r"(\d+)([wdhms])")


@functools.lru_cache(maxsize=256)
def _elapsed(text: str) -> dt.timedelta:
    """An offset string as elapsed time, days counted as 24 hours (a batch of jobs with the
    same expiry makes this timedelta once)."""
    days, seconds = _split_offset(text)
    return dt.timedelta(days=days, seconds=seconds)


def parse_offset(text: str) -> dt.timedelta:
    """'30s', '5m', '2h', '5d', '1w' or a combination such as '1d12h' as a timedelta."""
    try:
        return _elapsed(text)
    except OverflowError:
        raise InvalidTimeSpec(f"invalid time offset {text!r}: too large") from None


@functools.lru_cache(maxsize=256)
def _split_offset(text: str) -> tuple[int, int]:
    """An offset string as (calendar days, elapsed seconds)."""
    if not isinstance(text, str) or not _OFFSET.fullmatch(text):
        raise InvalidTimeSpec(
            f"invalid time offset {text!r}: expected whole numbers with a unit "
            "(s, m, h, d, w), e.g. '30s', '5m', '1d12h'"
        )
    units = [unit for _, unit in _PART.findall(text)]
    if len(units) != len(set(units)):
        raise InvalidTimeSpec(f"invalid time offset {text!r}: a unit is given twice")
    parts = [(int(number), unit) for number, unit in _PART.findall(text)]
    days = sum(number * UNIT_SECONDS[unit] // 86400 for number, unit in parts if unit in "wd")
    seconds = sum(number * UNIT_SECONDS[unit] for number, unit in parts if unit in "hms")
    return days, seconds


def aware(value: dt.datetime, tz: dt.tzinfo | None = None) -> dt.datetime:
    """The datetime made timezone-aware; a naive one is read in the current time zone (or
    ``tz``, when the caller already looked it up)."""
    if value.utcoffset() is None:  # timezone.is_naive(), without the call
        return timezone.make_aware(value, tz or timezone.get_current_timezone())
    return value


# Names of zoneinfo's UTC zone (Django's default TIME_ZONE is "UTC").
_UTC_KEYS = frozenset(
    {
        "UTC",
        "Etc/UTC",
        "Etc/UCT",
        "UCT",
        "Universal",
        "Etc/Universal",
        "Zulu",
        "Etc/Zulu",
        "GMT",
        "Etc/GMT",
        "Greenwich",
        "Etc/Greenwich",
    }
)


def _without_dst(tz: dt.tzinfo) -> bool:
    """Whether ``tz`` has one fixed offset (UTC, or a datetime.timezone), so that a calendar
    day in it is always 24 hours."""
    return isinstance(tz, dt.timezone) or getattr(tz, "key", None) in _UTC_KEYS


def resolve(
    when: When, base: dt.datetime | None = None, tz: dt.tzinfo | None = None
) -> dt.datetime:
    """The aware datetime that ``when`` names; relative forms count from ``base`` (now).

    In an offset string, days and weeks are calendar days of the current time zone ('1d'
    is the same wall-clock time tomorrow, across a DST change too); hours, minutes and
    seconds are elapsed time. A timedelta is elapsed time. ``tz`` is the current time zone
    when the caller already has it (looking it up costs microseconds a batch adds up)."""
    if isinstance(when, dt.datetime):
        return aware(when, tz)
    base = base or timezone.now()
    try:
        if isinstance(when, str):
            days, seconds = _split_offset(when)
            if not days:  # elapsed time only: no time zone involved
                return base.astimezone(dt.UTC) + dt.timedelta(seconds=seconds)
            tz = tz or timezone.get_current_timezone()
            if _without_dst(tz):  # every day is 24 hours long
                return base.astimezone(dt.UTC) + _elapsed(when)
            local = base.astimezone(tz)
            return (local + dt.timedelta(days=days)).astimezone(dt.UTC) + dt.timedelta(
                seconds=seconds
            )
        if isinstance(when, dt.timedelta):
            return base + when
    except OverflowError:
        raise InvalidTimeSpec(f"invalid time {when!r}: too far in the future") from None
    raise InvalidTimeSpec(
        f"invalid time {when!r}: expected a datetime, a timedelta or an offset string "
        f"such as '5d', not {type(when).__name__}"
    )
