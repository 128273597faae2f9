import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone

from future_celery.exceptions import InvalidTimeSpec
from future_celery.timespec import parse_offset, resolve

BASE = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", dt.timedelta(seconds=30)),
        ("5m", dt.timedelta(minutes=5)),
        ("2h", dt.timedelta(hours=2)),
        ("5d", dt.timedelta(days=5)),
        ("1w", dt.timedelta(weeks=1)),
        ("1d12h", dt.timedelta(days=1, hours=12)),
        ("1w2d3h4m5s", dt.timedelta(weeks=1, days=2, hours=3, minutes=4, seconds=5)),
        ("0h", dt.timedelta(0)),
        ("12h1d", dt.timedelta(days=1, hours=12)),
    ],
)
def test_offset_strings_are_read(text, expected):
    assert parse_offset(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "5x",
        "",
        "-3d",
        "1.5h",
        "5",
        "d",
        " 5d",
        "5d ",
        "5 d",
        "1h1h",
        "5D",
        "1e3s",
        "999999999999999999999w",
    ],
)
def test_bad_offset_strings_raise_value_error_naming_the_text(text):
    with pytest.raises(ValueError) as info:
        parse_offset(text)
    assert isinstance(info.value, InvalidTimeSpec)
    assert repr(text) in str(info.value)


def test_relative_times_count_from_the_base():
    assert resolve("1d12h", BASE) == BASE + dt.timedelta(days=1, hours=12)
    assert resolve(dt.timedelta(minutes=3), BASE) == BASE + dt.timedelta(minutes=3)


def test_relative_times_count_from_now_without_a_base():
    before = timezone.now()
    result = resolve("1h")
    assert before + dt.timedelta(hours=1) <= result <= timezone.now() + dt.timedelta(hours=1)


def test_an_aware_datetime_is_kept():
    when = dt.datetime(2026, 3, 1, 9, 30, tzinfo=zoneinfo.ZoneInfo("Asia/Tokyo"))
    assert resolve(when) == when


def test_a_naive_datetime_is_read_in_the_current_time_zone():
    with timezone.override(zoneinfo.ZoneInfo("Europe/Berlin")):
        result = resolve(dt.datetime(2026, 7, 1, 14, 0))
    assert result == dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC)


def test_a_naive_datetime_on_a_dst_change_day_gets_that_days_offset():
    # Europe/Berlin moves from UTC+1 to UTC+2 at 02:00 on 2026-03-29.
    with timezone.override(zoneinfo.ZoneInfo("Europe/Berlin")):
        before, after = (
            resolve(dt.datetime(2026, 3, 29, 1, 0)),
            resolve(dt.datetime(2026, 3, 29, 4, 0)),
        )
    assert after.astimezone(dt.UTC) - before.astimezone(dt.UTC) == dt.timedelta(hours=2)
    assert after.astimezone(dt.UTC).hour == 2


@pytest.mark.parametrize("when", [12, 1.5, None, dt.date(2026, 1, 1), ["5d"]])
def test_other_types_are_refused(when):
    with pytest.raises(InvalidTimeSpec, match="invalid time"):
        resolve(when, BASE)


def test_an_offset_past_the_calendar_is_refused():
    with pytest.raises(InvalidTimeSpec, match="too far"):
        resolve(dt.timedelta(days=999_999_999), BASE)


def test_days_are_calendar_days_across_a_dst_change_hours_are_elapsed():
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    base = dt.datetime(2026, 3, 28, 9, 0, tzinfo=berlin).astimezone(dt.UTC)  # 08:00 UTC, CET
    with timezone.override(berlin):
        next_day = resolve("1d", base)
        in_24h = resolve("24h", base)
    assert next_day.astimezone(berlin).hour == 9  # 09:00 CEST: 07:00 UTC
    assert next_day == dt.datetime(2026, 3, 29, 7, 0, tzinfo=dt.UTC)
    assert in_24h == base + dt.timedelta(hours=24)
    assert resolve("1d", base) == base + dt.timedelta(days=1)  # in UTC the two agree


def test_huge_day_offsets_are_refused_when_resolved():
    with pytest.raises(InvalidTimeSpec):
        resolve("999999999d", BASE)


@pytest.mark.parametrize(
    "tz",
    [zoneinfo.ZoneInfo("UTC"), dt.UTC, dt.timezone(dt.timedelta(hours=-5))],
    ids=["zoneinfo-UTC", "datetime-UTC", "fixed-offset"],
)
def test_in_a_zone_without_dst_days_are_24_hours_and_the_result_is_utc(tz):
    base = dt.datetime(2026, 3, 28, 23, 30, tzinfo=tz)
    result = resolve("2d3h", base, tz)
    assert result == base + dt.timedelta(days=2, hours=3)
    assert result.tzinfo is dt.UTC


def test_the_given_time_zone_decides_what_a_day_is():
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    base = dt.datetime(2026, 3, 28, 8, 0, tzinfo=dt.UTC)  # the day before the DST change
    assert resolve("1d", base, berlin) == dt.datetime(2026, 3, 29, 7, 0, tzinfo=dt.UTC)
    assert resolve("1d", base, zoneinfo.ZoneInfo("UTC")) == base + dt.timedelta(days=1)
