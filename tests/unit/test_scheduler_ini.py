"""Reading superdjango's scheduler.ini (no database): the keys, the typing of keyword
arguments, sections left out, malformed files; and Result's text."""

from __future__ import annotations

import logging
import textwrap

import pytest

from future_celery.exceptions import SchedulerFileError, WrongOptionType
from future_celery.scheduler import STATUS, Result, ini


def read(tmp_path, text: str) -> ini.Contents:
    path = tmp_path / "scheduler.ini"
    path.write_text(textwrap.dedent(text))
    return ini.read(path)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("True", True),
        ("False", False),
        ("true", True),
        ("3", 3),
        ("-12", -12),
        ("0", 0),
        ("2.5", 2.5),
        ("1e3", 1000.0),
        ("007", "007"),
        ("yes", "yes"),
        ("two words", "two words"),
        ('"5"', "5"),
        ('"True"', "True"),
        ("", ""),
        ("nan", "nan"),
    ],
)
def test_ini_values_are_typed_booleans_numbers_or_text(text, value):
    assert ini.typed(text) == value and type(ini.typed(text)) is type(value)


@pytest.mark.parametrize("value", [True, False, 0, -3, 2.5, 1e20, "5", "True", " x ", "a b", ""])
def test_untyped_values_are_read_back_as_they_were(value):
    text = ini.untyped(value)
    assert text is not None and ini.typed(text) == value
    assert type(ini.typed(text)) is type(value)


@pytest.mark.parametrize("value", [None, [1], {"a": 1}])
def test_values_without_ini_text_are_said_so(value):
    assert ini.untyped(value) is None


def test_a_section_reads_as_a_job_with_its_typed_arguments(tmp_path):
    [job] = read(
        tmp_path,
        """\
        [greet]
        call = proj.demo.jobs.say_hello
        every = 10 minutes
        description = Says hello.
        name = Ada
        times = 2
        loud = False
        """,
    ).jobs
    assert job.label == "greet" and job.callable == "proj.demo.jobs.say_hello"
    assert job.every == "10 minutes" and job.at is None and job.active
    assert job.kwargs == {"name": "Ada", "times": 2, "loud": False}
    assert job.description == "Says hello." and job.describe() == "every 10 minutes"


def test_callback_and_frequency_are_call_and_every(tmp_path):
    [job] = read(
        tmp_path,
        "[a]\ncallback = proj.demo.jobs.say_hello\nfrequency = monday\nat = 07:15\n",
    ).jobs
    assert (job.callable, job.every, job.at) == ("proj.demo.jobs.say_hello", "monday", "07:15")
    assert job.describe().startswith("mondays at 07:15")


@pytest.mark.parametrize(
    ("word", "active"),
    [("yes", True), ("no", False), ("True", True), ("off", False), ("1", True), ("0", False)],
)
def test_active_takes_yes_no_and_their_kin(tmp_path, word, active):
    [job] = read(
        tmp_path, f"[a]\ncall = proj.demo.jobs.say_hello\nevery = 1 hour\nactive = {word}\n"
    ).jobs
    assert job.active is active


def test_our_options_are_not_keyword_arguments(tmp_path):
    [job] = read(
        tmp_path,
        """\
        [a]
        call = proj.demo.jobs.say_hello
        cron = 0 2 * * *
        tz = Europe/Berlin
        queue = slow
        priority = 5
        catch_up = none
        overlap = skip
        expires_after = 60
        """,
    ).jobs
    assert job.kwargs == {} and job.cron == "0 2 * * *" and job.every is None
    assert job.options == {
        "tz": "Europe/Berlin",
        "queue": "slow",
        "priority": 5,
        "catch_up": "none",
        "overlap": "skip",
        "expires_after": 60,
    }


def test_every_in_bare_seconds_is_a_number(tmp_path):
    [job] = read(tmp_path, "[a]\ncall = proj.demo.jobs.say_hello\nevery = 90\n").jobs
    assert job.every == 90 and job.describe() == "every 90 seconds"


def test_at_on_an_elapsed_schedule_is_ignored_with_a_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="future_celery.scheduler"):
        [job] = read(
            tmp_path, "[a]\ncall = proj.demo.jobs.say_hello\nevery = 5 minutes\nat = 10:00\n"
        ).jobs
    assert job.at is None and "at = 10:00 ignored" in caplog.text


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("every = 1 hour\n", "no 'call'"),
        ("call = proj.demo.jobs.say_hello\n", "no 'every'"),
        ("call = proj.demo.jobs.nope\nevery = 1 hour\n", "has no 'nope'"),
        ("call = proj.demo.jobs.say_hello\nevery = often\n", "invalid every 'often'"),
        ("call = proj.demo.jobs.say_hello\nevery = sunday\nat = 25:00\n", "invalid at"),
        ("call = proj.demo.jobs.say_hello\nevery = 1 hour\nactive = maybe\n", "yes or no"),
        ("call = proj.demo.jobs.say_hello\nevery = 1 hour\npk = 3\n", "'pk'"),
        ("call = proj.demo.jobs.say_hello\nevery = 1 hour\ntz = Mars/Base\n", "time zone"),
    ],
)
def test_a_section_that_cannot_be_a_job_is_left_out_with_why(tmp_path, caplog, body, reason):
    with caplog.at_level(logging.WARNING, logger="future_celery.scheduler"):
        contents = read(
            tmp_path, f"[bad one]\n{body}\n[good]\ncall = proj.demo.jobs.add\nevery = 1 day\n"
        )
    assert [job.label for job in contents.jobs] == ["good"]
    [(label, why)] = contents.left_out
    assert label == "bad one" and reason in why
    assert "[bad one]" in caplog.text and str(contents.path) in caplog.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call = x\n", "line 1: 'call = x' comes before any [section]"),
        ("[a]\nevery = 1 hour\n[a]\n", "line 3: section [a] is there twice"),
        ("[a]\nevery = 1 hour\nevery = 2 hours\n", "line 3: 'every' is given twice in [a]"),
        ("[a]\nevery = 1 hour\nnot a key value\n", "line 3: 'not a key value'"),
    ],
)
def test_a_malformed_file_raises_naming_the_file_and_the_line(tmp_path, text, expected):
    with pytest.raises(SchedulerFileError) as raised:
        read(tmp_path, text)
    assert str(raised.value).startswith(str(tmp_path / "scheduler.ini"))
    assert expected in str(raised.value)


def test_a_missing_file_raises_on_read(tmp_path):
    with pytest.raises(SchedulerFileError, match="no such scheduler file"):
        ini.read(tmp_path / "missing.ini")


def test_a_percent_sign_is_plain_text(tmp_path):
    [job] = read(
        tmp_path, "[a]\ncall = proj.demo.jobs.say_hello\nevery = 1 hour\nname = 100%\n"
    ).jobs
    assert job.kwargs == {"name": "100%"}


def test_result_text_shows_status_message_and_output():
    result = Result(STATUS.SUCCESS, message="shown to users", output="for developers")
    assert str(result) == "SUCCESS: shown to users\n\nfor developers"
    assert result.__job_outcome__() == (False, str(result))
    assert Result(STATUS.FAILURE).__job_outcome__() == (True, "FAILURE")


def test_result_takes_a_status_by_name_or_value_and_refuses_others():
    assert Result("SUCCESS").status is STATUS.SUCCESS
    assert Result("error").status is STATUS.ERROR
    with pytest.raises(WrongOptionType, match=r"STATUS\.SUCCESS"):
        Result("fine")
