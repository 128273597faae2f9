import datetime as dt
import itertools
import os
import subprocess
import sys
import time
import zoneinfo

import pytest
from django.test import override_settings

from future_celery.exceptions import FutureCeleryError, InvalidRecurrence, InvalidTimeSpec
from future_celery.recurrence import (
    Recurrence,
    describe,
    next_slot,
    parse,
    period,
    slots,
    to_spec,
)

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
UTC = dt.UTC


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def local(zone: zoneinfo.ZoneInfo, *args: int, fold: int = 0) -> dt.datetime:
    return dt.datetime(*args, tzinfo=zone, fold=fold)


def day_slots(rec, zone, day):
    """The slots that fall on the local date ``day``."""
    start = dt.datetime.combine(day, dt.time(0), zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), zone)
    return list(
        slots(rec, start - dt.timedelta(microseconds=1), end - dt.timedelta(microseconds=1))
    )


# Reading every


@pytest.mark.parametrize(
    ("every", "seconds"),
    [
        ("1 second", 1),
        ("5 seconds", 5),
        ("1 seconds", 1),
        ("second", 1),
        ("1 minute", 60),
        ("10 minutes", 600),
        ("minute", 60),
        ("1 hour", 3600),
        ("3 hours", 3 * 3600),
        ("hour", 3600),
        ("10 Minutes", 600),
        ("  10   MINUTES ", 600),
        (90, 90),
        (1, 1),
        ("30s", 30),
        ("10m", 600),
        ("2h", 7200),
        ("1h30m", 5400),
        ("24h", 86400),
    ],
)
def test_elapsed_intervals_are_read_as_seconds(every, seconds):
    rec = parse(every, tz="UTC")
    assert (rec.every, rec.days, rec.weekday, rec.at, rec.cron) == (seconds, None, None, None, None)


@pytest.mark.parametrize(
    ("every", "days"),
    [
        ("1 day", 1),
        ("2 days", 2),
        ("day", 1),
        ("1 week", 7),
        ("2 weeks", 14),
        ("week", 7),
        ("1 weeks", 7),
        ("DAY", 1),
        ("1d", 1),
        ("3d", 3),
        ("1w", 7),
        ("1w2d", 9),
    ],
)
def test_day_and_week_intervals_are_read_as_days_at_midnight(every, days):
    rec = parse(every, tz="UTC")
    assert (rec.every, rec.days, rec.weekday, rec.at) == (None, days, None, dt.time(0, 0))


@pytest.mark.parametrize(
    ("every", "weekday"),
    [
        ("monday", 0),
        ("Tuesday", 1),
        ("WEDNESDAY", 2),
        ("thursday", 3),
        ("friday", 4),
        ("saturday", 5),
        ("sunday", 6),
        ("SunDay", 6),
        ("sundays", 6),
    ],
)
def test_weekday_names_are_read_in_any_case(every, weekday):
    rec = parse(every, tz="UTC")
    assert (rec.every, rec.days, rec.weekday, rec.at) == (None, None, weekday, dt.time(0, 0))


def test_at_is_read_as_a_wall_clock_time():
    assert parse("sunday", at="23:30", tz="UTC").at == dt.time(23, 30)
    assert parse("1 day", at="9:05", tz="UTC").at == dt.time(9, 5)
    assert parse("1 day", at=dt.time(7, 15), tz="UTC").at == dt.time(7, 15)


def test_the_module_imports_and_parses_without_django_settings():
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    code = "from future_celery import recurrence as r; print(r.describe(r.parse('day', tz='UTC')))"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout == "every day at 00:00 (UTC)\n"


def test_tz_defaults_to_the_time_zone_setting():
    with override_settings(TIME_ZONE="Europe/Berlin"):
        assert parse("1 day").tz == "Europe/Berlin"
    assert parse("1 day", tz="America/New_York").tz == "America/New_York"


def test_cron_is_kept_in_lower_case_with_single_spaces():
    rec = parse(cron="  0  9 * *   MON-FRI ", tz="UTC")
    assert rec == Recurrence(cron="0 9 * * mon-fri", tz="UTC")


# Errors


@pytest.mark.parametrize(
    "every",
    [
        "5 fortnights",
        "10 mins",
        "1 month",
        "",
        "minutes",
        "every 10 minutes",
        "10",
        "1.5 hours",
        "5D",
        "funday",
        "1h1h",
        ["10 minutes"],
        1.5,
        True,
    ],
)
def test_unknown_intervals_are_refused_naming_them(every):
    with pytest.raises(InvalidRecurrence) as info:
        parse(every, tz="UTC")
    assert repr(every) in str(info.value)


@pytest.mark.parametrize("every", ["0 minutes", "0s", "0d", 0, -5, "-5 minutes", "0 weeks"])
def test_zero_and_negative_intervals_are_refused(every):
    with pytest.raises(InvalidRecurrence):
        parse(every, tz="UTC")


def test_days_do_not_mix_with_hours_in_an_offset_string():
    with pytest.raises(InvalidRecurrence, match="36h"):
        parse("1d12h", tz="UTC")


@pytest.mark.parametrize("every", ["10 minutes", "2h", 30, "second"])
def test_at_is_refused_with_elapsed_intervals(every):
    with pytest.raises(InvalidRecurrence, match="'at' needs a schedule in days"):
        parse(every, at="10:00", tz="UTC")


def test_at_is_refused_with_cron():
    with pytest.raises(InvalidRecurrence, match="'at' does not go with cron"):
        parse(cron="0 2 * * *", at="02:00", tz="UTC")


def test_every_and_cron_together_are_refused():
    with pytest.raises(InvalidRecurrence, match="exactly one of 'every' and 'cron'"):
        parse("1 day", cron="0 2 * * *", tz="UTC")


def test_neither_every_nor_cron_is_refused():
    with pytest.raises(InvalidRecurrence, match="exactly one of 'every' and 'cron'"):
        parse(tz="UTC")


@pytest.mark.parametrize("tz", ["Mars/Olympus", "", "Europe", "../etc", "/etc/localtime", "utc"])
def test_unknown_time_zones_are_refused(tz):
    with pytest.raises(InvalidRecurrence, match="invalid time zone"):
        parse("1 day", tz=tz)


@pytest.mark.parametrize(
    "at", ["24:00", "23:60", "2330", "23:30:00", "11:30pm", "", "noon", 1130, dt.time(1, 2, 3)]
)
def test_bad_at_is_refused(at):
    with pytest.raises(InvalidRecurrence, match="invalid at"):
        parse("1 day", at=at, tz="UTC")


@pytest.mark.parametrize(
    ("cron", "field"),
    [
        ("60 * * * *", "minute"),
        ("x * * * *", "minute"),
        ("*/0 * * * *", "minute"),
        ("1-5/2/3 * * * *", "minute"),
        ("1/5 * * * *", "minute"),
        (",5 * * * *", "minute"),
        ("* 24 * * *", "hour"),
        ("* -1 * * *", "hour"),
        ("* * 0 * *", "day-of-month"),
        ("* * 32 * *", "day-of-month"),
        ("* * * 13 *", "month"),
        ("* * * 0 *", "month"),
        ("* * * mon *", "month"),
        ("* * * * 8", "day-of-week"),
        ("* * * * jan", "day-of-week"),
        ("* * * * funday", "day-of-week"),
    ],
)
def test_bad_cron_fields_are_refused_naming_the_field(cron, field):
    with pytest.raises(InvalidRecurrence, match=f"bad {field} field"):
        parse(cron=cron, tz="UTC")


@pytest.mark.parametrize("cron", ["* * * *", "* * * * * *", "", "@daily"])
def test_cron_needs_five_fields(cron):
    with pytest.raises(InvalidRecurrence, match="five fields"):
        parse(cron=cron, tz="UTC")


@pytest.mark.parametrize("cron", ["0 0 31 2 *", "0 0 30 2 *", "0 0 31 4,6,9,11 *"])
def test_a_cron_that_never_matches_is_refused_at_parse_time(cron):
    with pytest.raises(InvalidRecurrence, match="never matches"):
        parse(cron=cron, tz="UTC")


def test_errors_are_ours_and_value_errors():
    with pytest.raises(FutureCeleryError):
        parse("5 fortnights", tz="UTC")
    with pytest.raises(ValueError):
        parse("5 fortnights", tz="UTC")


def test_next_slot_refuses_a_naive_datetime():
    with pytest.raises(InvalidTimeSpec, match="aware"):
        next_slot(parse("10 minutes", tz="UTC"), dt.datetime(2026, 1, 1))


def test_slots_refuses_naive_datetimes():
    rec = parse("10 minutes", tz="UTC")
    with pytest.raises(InvalidTimeSpec):
        slots(rec, dt.datetime(2026, 1, 1), utc(2026, 1, 2))
    with pytest.raises(InvalidTimeSpec):
        slots(rec, utc(2026, 1, 1), dt.datetime(2026, 1, 2))


def test_a_recurrence_with_no_schedule_is_refused():
    with pytest.raises(InvalidRecurrence, match="exactly one"):
        next_slot(Recurrence(), utc(2026, 1, 1))
    with pytest.raises(InvalidRecurrence, match="exactly one"):
        describe(Recurrence(every=60, days=1))


def test_no_slot_before_year_10000_is_our_error():
    with pytest.raises(InvalidRecurrence):
        next_slot(parse(cron="0 0 1 1 *", tz="UTC"), utc(9999, 6, 1))
    with pytest.raises(InvalidRecurrence):
        next_slot(parse(7, tz="UTC"), utc(9999, 12, 31, 23, 59, 58))


# Elapsed intervals


def test_elapsed_slots_are_whole_multiples_since_the_epoch():
    rec = parse("10 minutes", tz="UTC")
    assert next_slot(rec, utc(2026, 5, 5, 12, 7, 31)) == utc(2026, 5, 5, 12, 10)
    assert next_slot(rec, utc(2026, 5, 5, 12, 10)) == utc(2026, 5, 5, 12, 20)
    assert next_slot(rec, utc(2026, 5, 5, 12, 9, 59, 999999)) == utc(2026, 5, 5, 12, 10)


def test_an_interval_that_does_not_divide_an_hour_counts_from_the_epoch():
    rec = parse("7 seconds", tz="UTC")
    slot = next_slot(rec, utc(2026, 5, 5, 12, 0))
    assert int(slot.timestamp()) % 7 == 0
    assert utc(2026, 5, 5, 12, 0) < slot <= utc(2026, 5, 5, 12, 0, 7)


def test_elapsed_slots_ignore_the_time_zone_and_dst():
    berlin = parse("1 hour", tz="Europe/Berlin")
    across_spring = list(slots(berlin, utc(2026, 3, 28, 23, 30), utc(2026, 3, 29, 3, 30)))
    assert across_spring == [utc(2026, 3, 29, hour) for hour in range(4)]
    assert next_slot(berlin, utc(2026, 1, 1, 0, 30)) == next_slot(
        parse("1 hour", tz="UTC"), utc(2026, 1, 1, 0, 30)
    )


def test_next_slot_is_in_utc_for_an_aware_datetime_in_any_zone():
    slot = next_slot(parse("10 minutes", tz="UTC"), local(BERLIN, 2026, 5, 5, 14, 7))
    assert slot == utc(2026, 5, 5, 12, 10)
    assert slot.tzinfo is UTC


def test_slots_count_every_second_of_an_hour_quickly():
    rec = parse("1 second", tz="UTC")
    started = time.perf_counter()
    found = list(slots(rec, utc(2026, 1, 1), utc(2026, 1, 1, 1)))
    assert time.perf_counter() - started < 0.5
    assert len(found) == 3600
    assert found[0] == utc(2026, 1, 1, 0, 0, 1)
    assert found[-1] == utc(2026, 1, 1, 1)


def test_slots_are_those_strictly_after_and_up_to_until():
    rec = parse("10 minutes", tz="UTC")
    assert list(slots(rec, utc(2026, 1, 1, 0, 0), utc(2026, 1, 1, 0, 30))) == [
        utc(2026, 1, 1, 0, 10),
        utc(2026, 1, 1, 0, 20),
        utc(2026, 1, 1, 0, 30),
    ]
    assert list(slots(rec, utc(2026, 1, 1, 0, 30), utc(2026, 1, 1, 0, 0))) == []


# Days, weeks and weekdays


def test_every_day_runs_at_the_time_of_day_in_the_zone():
    rec = parse("1 day", at="23:30", tz="Europe/Berlin")
    assert next_slot(rec, utc(2026, 1, 10, 12)) == local(BERLIN, 2026, 1, 10, 23, 30)
    assert next_slot(rec, local(BERLIN, 2026, 1, 10, 23, 30)) == local(BERLIN, 2026, 1, 11, 23, 30)


def test_every_n_days_counts_days_from_1970_01_01():
    rec = parse("2 days", at="06:00", tz="UTC")
    found = list(slots(rec, utc(2026, 1, 1), utc(2026, 1, 8)))
    epoch_day = dt.date(1970, 1, 1).toordinal()
    assert [(slot.date().toordinal() - epoch_day) % 2 for slot in found] == [0, 0, 0, 0]
    assert [slot.day for slot in found] == [1, 3, 5, 7]  # 2026-01-01 is day 20454, even


def test_every_n_days_counts_local_dates():
    # 2026-01-01 is an even day number: in Tokyo its 06:00 is 2025-12-31 21:00 UTC.
    rec = parse("2 days", at="06:00", tz="Asia/Tokyo")
    assert next_slot(rec, utc(2025, 12, 31)) == utc(2025, 12, 31, 21)


def test_every_n_days_is_the_same_whenever_it_is_asked():
    rec = parse("3 days", at="12:00", tz="UTC")
    grid = next_slot(rec, utc(2026, 1, 1))
    for hours in range(0, 24 * 10, 5):
        slot = next_slot(rec, utc(2026, 2, 1) + dt.timedelta(hours=hours))
        assert (slot - grid) % dt.timedelta(days=3) == dt.timedelta(0)


def test_every_week_runs_on_thursdays_as_1970_01_01_did():
    found = list(slots(parse("1 week", tz="UTC"), utc(2026, 1, 1), utc(2026, 2, 1)))
    assert [slot.weekday() for slot in found] == [3, 3, 3, 3]
    assert found[0] == utc(2026, 1, 8)


def test_every_two_weeks_skips_a_week():
    found = list(slots(parse("2 weeks", at="08:00", tz="UTC"), utc(2026, 1, 1), utc(2026, 3, 1)))
    assert found[0] == utc(2026, 1, 1, 8)  # 2026-01-01 is day 20454, a multiple of 14
    assert [b - a for a, b in itertools.pairwise(found)] == [dt.timedelta(days=14)] * 4


def test_every_sunday_at_23_30_runs_on_sundays_at_23_30():
    rec = parse("sunday", at="23:30", tz="Europe/Berlin")
    found = list(slots(rec, utc(2026, 1, 1), utc(2026, 2, 1)))
    assert [slot.astimezone(BERLIN).strftime("%a %d %H:%M") for slot in found] == [
        "Sun 04 23:30",
        "Sun 11 23:30",
        "Sun 18 23:30",
        "Sun 25 23:30",
    ]


def test_a_weekday_at_that_time_is_the_next_week_once_passed():
    rec = parse("monday", at="09:00", tz="UTC")
    assert next_slot(rec, utc(2026, 1, 5, 8, 59)) == utc(2026, 1, 5, 9)
    assert next_slot(rec, utc(2026, 1, 5, 9)) == utc(2026, 1, 12, 9)


def test_every_day_runs_on_feb_29_of_a_leap_year():
    found = list(slots(parse("1 day", at="12:00", tz="UTC"), utc(2028, 2, 27), utc(2028, 3, 2)))
    assert [slot.date() for slot in found] == [
        dt.date(2028, 2, 27),
        dt.date(2028, 2, 28),
        dt.date(2028, 2, 29),
        dt.date(2028, 3, 1),
    ]


# Cron


def test_cron_runs_at_the_matching_minute():
    rec = parse(cron="0 2 * * *", tz="UTC")
    assert next_slot(rec, utc(2026, 1, 1, 1, 59)) == utc(2026, 1, 1, 2)
    assert next_slot(rec, utc(2026, 1, 1, 2)) == utc(2026, 1, 2, 2)


def test_cron_reads_its_wall_clock_in_the_zone():
    rec = parse(cron="0 2 * * *", tz="Europe/Berlin")
    assert next_slot(rec, utc(2026, 1, 1, 12)) == utc(2026, 1, 2, 1)
    assert next_slot(rec, utc(2026, 7, 1, 12)) == utc(2026, 7, 2, 0)


def test_cron_steps_ranges_and_lists():
    rec = parse(cron="*/20 9-10 * * *", tz="UTC")
    found = list(slots(rec, utc(2026, 1, 1), utc(2026, 1, 1, 23)))
    assert [slot.strftime("%H:%M") for slot in found] == [
        "09:00",
        "09:20",
        "09:40",
        "10:00",
        "10:20",
        "10:40",
    ]
    rec = parse(cron="5,35 1-5/2 * * *", tz="UTC")
    found = list(slots(rec, utc(2026, 1, 1), utc(2026, 1, 1, 23)))
    assert [slot.strftime("%H:%M") for slot in found] == [
        "01:05",
        "01:35",
        "03:05",
        "03:35",
        "05:05",
        "05:35",
    ]


def test_cron_weekdays_count_sunday_as_0_and_7_and_take_names():
    sundays = [parse(cron=f"0 12 * * {day}", tz="UTC") for day in ("0", "7", "sun", "SUN", "6-7")]
    found = [next_slot(rec, utc(2026, 1, 1)) for rec in sundays]  # a Thursday
    assert found[:4] == [utc(2026, 1, 4, 12)] * 4
    assert found[4] == utc(2026, 1, 3, 12)  # Saturday and Sunday


def test_cron_weekday_ranges_by_name():
    rec = parse(cron="0 9 * * mon-fri", tz="UTC")
    found = list(slots(rec, utc(2026, 1, 1), utc(2026, 1, 8)))  # Thursday to Thursday
    assert [slot.weekday() for slot in found] == [3, 4, 0, 1, 2]


def test_cron_months_by_number_and_name():
    assert next_slot(parse(cron="0 0 1 jul *", tz="UTC"), utc(2026, 1, 1)) == utc(2026, 7, 1)
    assert next_slot(parse(cron="0 0 1 7 *", tz="UTC"), utc(2026, 7, 1)) == utc(2027, 7, 1)


def test_cron_day_of_month_or_day_of_week_when_both_are_restricted():
    rec = parse(cron="0 0 13 * fri", tz="UTC")
    found = list(slots(rec, utc(2026, 1, 1), utc(2026, 1, 31)))
    assert [slot.day for slot in found] == [2, 9, 13, 16, 23, 30]  # Fridays, and the 13th


def test_cron_day_of_month_and_day_of_week_when_one_starts_with_a_star():
    rec = parse(cron="0 0 */2 * fri", tz="UTC")  # odd days that are Fridays
    found = list(slots(rec, utc(2026, 1, 1), utc(2026, 2, 1)))
    assert [slot.day for slot in found] == [9, 23]
    every_friday = parse(cron="0 0 * * fri", tz="UTC")
    assert [s.day for s in slots(every_friday, utc(2026, 1, 1), utc(2026, 2, 1))] == [
        2,
        9,
        16,
        23,
        30,
    ]


def test_cron_on_the_31st_skips_short_months():
    found = list(slots(parse(cron="0 0 31 * *", tz="UTC"), utc(2026, 1, 1), utc(2026, 12, 31)))
    assert [slot.month for slot in found] == [1, 3, 5, 7, 8, 10, 12]


def test_cron_feb_29_finds_the_next_leap_year():
    rec = parse(cron="0 0 29 2 *", tz="UTC")
    assert next_slot(rec, utc(2026, 1, 1)) == utc(2028, 2, 29)
    assert next_slot(rec, utc(2028, 2, 29)) == utc(2032, 2, 29)
    started = time.perf_counter()
    assert next_slot(rec, utc(2096, 3, 1)) == utc(2104, 2, 29)  # 2100 is not a leap year
    assert time.perf_counter() - started < 0.05


def test_cron_next_slot_is_cheap():
    expressions = ["* * * * *", "*/15 9-17 * * 1-5", "59 23 31 12 *", "0 0 29 2 *", "0 0 13 * 5"]
    for expression in expressions:
        rec = parse(cron=expression, tz="Europe/Berlin")
        started = time.perf_counter()
        for _ in range(20):
            next_slot(rec, utc(2026, 5, 5, 12, 7))
        assert (time.perf_counter() - started) / 20 < 0.005, expression


# DST


@pytest.mark.parametrize(
    ("every", "cron"),
    [("1 day", None), ("sunday", None), (None, "30 2 * * *"), (None, "30 2 * * 0")],
)
def test_a_daily_2_30_in_berlin_runs_once_at_the_change_when_clocks_spring_forward(every, cron):
    rec = parse(every, at="02:30" if every else None, cron=cron, tz="Europe/Berlin")
    found = day_slots(rec, BERLIN, dt.date(2026, 3, 29))  # 02:00 CET becomes 03:00 CEST
    assert found == [utc(2026, 3, 29, 1)]  # 03:00 CEST, the first instant after the gap
    assert found[0].astimezone(BERLIN).strftime("%H:%M %Z") == "03:00 CEST"


@pytest.mark.parametrize(
    ("every", "cron"),
    [("1 day", None), ("sunday", None), (None, "30 2 * * *")],
)
def test_a_daily_2_30_in_berlin_runs_once_first_when_clocks_fall_back(every, cron):
    rec = parse(every, at="02:30" if every else None, cron=cron, tz="Europe/Berlin")
    found = day_slots(rec, BERLIN, dt.date(2026, 10, 25))  # 03:00 CEST becomes 02:00 CET
    assert found == [utc(2026, 10, 25, 0, 30)]  # 02:30 CEST, not 02:30 CET (01:30 UTC)
    assert found[0].astimezone(BERLIN).strftime("%H:%M %Z") == "02:30 CEST"


def test_a_daily_job_in_new_york_runs_once_on_both_change_days():
    rec = parse("1 day", at="02:30", tz="America/New_York")
    spring = day_slots(rec, NEW_YORK, dt.date(2026, 3, 8))  # 02:00 EST becomes 03:00 EDT
    assert [slot.astimezone(NEW_YORK).strftime("%H:%M %Z") for slot in spring] == ["03:00 EDT"]
    rec = parse("1 day", at="01:30", tz="America/New_York")
    fall = day_slots(rec, NEW_YORK, dt.date(2026, 11, 1))  # 02:00 EDT becomes 01:00 EST
    assert fall == [utc(2026, 11, 1, 5, 30)]  # 01:30 EDT, the first of the two
    around = list(slots(rec, utc(2026, 10, 30), utc(2026, 11, 4)))
    assert len({slot.astimezone(NEW_YORK).date() for slot in around}) == len(around) == 5


def test_the_day_after_a_change_is_back_at_its_wall_time():
    rec = parse("1 day", at="02:30", tz="Europe/Berlin")
    found = list(slots(rec, utc(2026, 3, 27), utc(2026, 3, 31)))
    assert [slot.astimezone(BERLIN).strftime("%d %H:%M") for slot in found] == [
        "27 02:30",
        "28 02:30",
        "29 03:00",
        "30 02:30",
    ]


def test_several_fixed_cron_times_in_one_gap_make_one_slot():
    rec = parse(cron="0,30 2 * * *", tz="Europe/Berlin")
    assert day_slots(rec, BERLIN, dt.date(2026, 3, 29)) == [utc(2026, 3, 29, 1)]
    assert len(day_slots(rec, BERLIN, dt.date(2026, 3, 30))) == 2


@pytest.mark.parametrize(
    ("zone", "spring", "fall"),
    [
        (BERLIN, dt.date(2026, 3, 29), dt.date(2026, 10, 25)),
        (NEW_YORK, dt.date(2026, 3, 8), dt.date(2026, 11, 1)),
    ],
)
def test_hourly_cron_follows_the_real_clock_across_both_changes(zone, spring, fall):
    rec = parse(cron="0 * * * *", tz=zone.key)
    short_day = day_slots(rec, zone, spring)
    assert len(short_day) == 23  # the hour of the gap does not exist
    assert len(set(short_day)) == 23
    assert all(b - a == dt.timedelta(hours=1) for a, b in itertools.pairwise(short_day))
    long_day = day_slots(rec, zone, fall)
    assert len(long_day) == 25  # the repeated hour runs again, on the new time (as cron)
    assert all(b - a == dt.timedelta(hours=1) for a, b in itertools.pairwise(long_day))


def test_hourly_cron_in_berlin_runs_the_repeated_two_oclock_twice():
    """The case the outside check found: 02:00 CEST, then 02:00 CET, then 03:00 CET (it went
    from 02:00 CEST to 03:00 CET, two hours apart, losing a run each year)."""
    rec = parse(cron="0 * * * *", tz="Europe/Berlin")
    found = list(slots(rec, utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 2)))
    assert [slot.astimezone(BERLIN).strftime("%H:%M %Z") for slot in found] == [
        "02:00 CEST",
        "02:00 CET",
        "03:00 CET",
    ]


def test_quarter_hour_cron_skips_the_wall_minutes_a_gap_removes():
    rec = parse(cron="*/15 * * * *", tz="Europe/Berlin")
    found = list(slots(rec, local(BERLIN, 2026, 3, 29, 1, 30), local(BERLIN, 2026, 3, 29, 3, 30)))
    assert [slot.astimezone(BERLIN).strftime("%H:%M %Z") for slot in found] == [
        "01:45 CET",
        "03:00 CEST",
        "03:15 CEST",
        "03:30 CEST",
    ]
    assert len(day_slots(rec, BERLIN, dt.date(2026, 3, 29))) == 92


def test_quarter_hour_cron_runs_the_repeated_hour_again_with_no_gap():
    rec = parse(cron="*/15 * * * *", tz="Europe/Berlin")
    found = list(slots(rec, utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 2, 15)))
    assert [slot.astimezone(BERLIN).strftime("%H:%M %Z") for slot in found] == [
        "02:45 CEST",
        "02:00 CET",
        "02:15 CET",
        "02:30 CET",
        "02:45 CET",
        "03:00 CET",
        "03:15 CET",
    ]
    assert all(b - a == dt.timedelta(minutes=15) for a, b in itertools.pairwise(found))
    assert len(day_slots(rec, BERLIN, dt.date(2026, 10, 25))) == 100


def test_every_minute_cron_over_a_day_with_a_gap():
    rec = parse(cron="* * * * *", tz="America/New_York")
    found = day_slots(rec, NEW_YORK, dt.date(2026, 3, 8))
    assert len(found) == 23 * 60
    assert all(b - a == dt.timedelta(minutes=1) for a, b in itertools.pairwise(found))


def test_a_slot_is_never_repeated_or_out_of_order_around_a_change():
    for zone, start in [(BERLIN, utc(2026, 3, 28)), (BERLIN, utc(2026, 10, 24))]:
        for rec in [
            parse("1 day", at="02:30", tz=zone.key),
            parse(cron="30 2 * * *", tz=zone.key),
            parse(cron="*/30 * * * *", tz=zone.key),
        ]:
            found = list(slots(rec, start, start + dt.timedelta(days=3)))
            assert found == sorted(set(found))


# period, describe, to_spec


def test_period_is_the_nominal_interval():
    assert period(parse("10 minutes", tz="UTC")) == dt.timedelta(minutes=10)
    assert period(parse("2 days", tz="UTC")) == dt.timedelta(days=2)
    assert period(parse("2 weeks", tz="UTC")) == dt.timedelta(days=14)
    assert period(parse("sunday", tz="UTC")) == dt.timedelta(days=7)


def test_period_of_a_cron_is_the_gap_between_its_next_two_slots():
    assert period(parse(cron="*/15 * * * *", tz="UTC")) == dt.timedelta(minutes=15)
    weekdays = parse(cron="0 9 * * mon-fri", tz="UTC")
    assert period(weekdays, now=utc(2026, 1, 6)) == dt.timedelta(days=1)  # Tuesday
    assert period(weekdays, now=utc(2026, 1, 8, 10)) == dt.timedelta(days=3)  # Thursday, late


@pytest.mark.parametrize(
    ("rec", "text"),
    [
        (parse("10 minutes", tz="UTC"), "every 10 minutes"),
        (parse("1 minute", tz="UTC"), "every minute"),
        (parse("7 seconds", tz="UTC"), "every 7 seconds"),
        (parse(90, tz="UTC"), "every 90 seconds"),
        (parse("2h", tz="UTC"), "every 2 hours"),
        (parse("24h", tz="UTC"), "every 24 hours"),
        (parse("2 days", at="23:30", tz="UTC"), "every 2 days at 23:30 (UTC)"),
        (parse("day", tz="Europe/Berlin"), "every day at 00:00 (Europe/Berlin)"),
        (parse("1 week", at="08:00", tz="UTC"), "every week on thursdays at 08:00 (UTC)"),
        (parse("2 weeks", tz="UTC"), "every 2 weeks on thursdays at 00:00 (UTC)"),
        (parse("sunday", at="23:30", tz="Europe/Berlin"), "sundays at 23:30 (Europe/Berlin)"),
        (parse(cron="0 2 * * *", tz="UTC"), "cron 0 2 * * * (UTC)"),
    ],
)
def test_describe_says_the_schedule_in_words(rec, text):
    assert describe(rec) == text


@pytest.mark.parametrize(
    "keywords",
    [
        {"every": "10 minutes"},
        {"every": "5 seconds"},
        {"every": 90},
        {"every": "1h30m"},
        {"every": "24h"},
        {"every": "hour"},
        {"every": "2 days", "at": "23:30"},
        {"every": "1 week"},
        {"every": "3w"},
        {"every": "Sunday", "at": "23:30"},
        {"every": "monday"},
        {"cron": "*/15 9-17 * * MON-FRI"},
        {"cron": "0 0 29 2 *"},
    ],
)
@pytest.mark.parametrize("tz", ["UTC", "Europe/Berlin"])
def test_to_spec_gives_back_parse_keywords_as_text(keywords, tz):
    rec = parse(**keywords, tz=tz)
    spec = to_spec(rec)
    assert all(isinstance(value, str) for value in spec.values())
    assert parse(**spec) == rec


def test_to_spec_spells_out_the_schedule():
    assert to_spec(parse("10m", tz="UTC")) == {"every": "10 minutes", "tz": "UTC"}
    assert to_spec(parse("sunday", at="23:30", tz="Europe/Berlin")) == {
        "every": "sunday",
        "at": "23:30",
        "tz": "Europe/Berlin",
    }
    assert to_spec(parse("2 weeks", tz="UTC")) == {"every": "2 weeks", "at": "00:00", "tz": "UTC"}
    assert to_spec(parse(cron="0 2 * * *", tz="UTC")) == {"cron": "0 2 * * *", "tz": "UTC"}


def test_the_same_schedule_gives_the_same_slots_in_another_process_state():
    # Nothing is remembered between calls: two parses, asked from different points, agree.
    first = list(
        slots(parse("2 days", at="23:30", tz="Europe/Berlin"), utc(2026, 1, 1), utc(2026, 2, 1))
    )
    later = list(
        slots(parse("2 days", at="23:30", tz="Europe/Berlin"), utc(2026, 1, 10), utc(2026, 2, 1))
    )
    assert later == [slot for slot in first if slot > utc(2026, 1, 10)]
