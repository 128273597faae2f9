"""The pieces of the Django Tasks backend that need no database: the priority mapping, the
exception class read from a traceback, the queue mapping."""

from __future__ import annotations

import traceback

import pytest

from future_celery.tasks_backend import from_celery_priority, queue_name, to_celery_priority
from future_celery.tasks_results import error_of
from tests.django_task_functions import TaskFailure


def test_djangos_priorities_map_linearly_onto_celerys_0_to_255():
    assert [to_celery_priority(p) for p in (-100, -1, 0, 1, 50, 100)] == [
        0,
        126,
        128,
        129,
        191,
        255,
    ]
    mapped = [to_celery_priority(p) for p in range(-100, 101)]
    assert mapped == sorted(set(mapped))  # higher stays higher, no two alike


def test_each_mapped_priority_reads_back_exactly():
    assert all(from_celery_priority(to_celery_priority(p)) == p for p in range(-100, 101))
    assert from_celery_priority(None) == 0


def formatted(exc: BaseException) -> str:
    try:
        raise exc
    except BaseException:
        return traceback.format_exc()


@pytest.mark.parametrize(
    ("exc", "path"),
    [
        (ValueError("boom"), "builtins.ValueError"),
        (KeyError("k"), "builtins.KeyError"),
        (TaskFailure("x: y"), "tests.django_task_functions.TaskFailure"),
        (TaskFailure(), "tests.django_task_functions.TaskFailure"),
    ],
)
def test_the_exception_class_is_the_one_the_traceback_names_last(exc, path):
    text = formatted(exc)
    error = error_of(text)
    assert error.exception_class_path == path and error.traceback == text
    assert error.exception_class is type(exc)


def test_the_last_exception_of_a_chain_is_the_class():
    try:
        try:
            raise KeyError("first")
        except KeyError as first:
            raise TaskFailure("second") from first
    except TaskFailure:
        text = traceback.format_exc()
    assert error_of(text).exception_class is TaskFailure


def test_what_the_engine_adds_after_a_traceback_is_not_taken_for_a_class():
    text = formatted(ValueError("lost")) + "\nRetried (lost 1 of 3 times allowed)."
    assert error_of(text).exception_class_path == "builtins.ValueError"


def test_a_text_that_names_no_exception_is_an_exception():
    assert error_of("Worker lost: it died.").exception_class_path == "builtins.Exception"


def test_default_is_our_default_queue_and_any_other_name_is_itself(settings):
    settings.FUTURE_CELERY_DEFAULT_QUEUE = "jobs"
    queues = {"default", "emails"}
    assert queue_name("", queues) == "default"
    assert queue_name("emails", queues) == "emails"
    assert queue_name("jobs", queues) == "default"  # FUTURE_CELERY_DEFAULT_QUEUE's name
    # Not listed (QUEUES = [] takes any name, or QUEUES changed since): still itself.
    assert queue_name("queue-2", set()) == "queue-2"
    assert queue_name("reports", queues) == "reports"
    # The default queue's own name, listed without "default": what it was enqueued on.
    assert queue_name("jobs", {"jobs", "emails"}) == "jobs"
    assert queue_name("jobs", set()) == "default"
