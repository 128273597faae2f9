"""run_job's worker-side request holds its eta timer entry weakly, so that a request with an
eta is freed by reference counting once its job is done, not left to a full collection of
the worker's main process (Celery 5.7's entry holds the request among its arguments)."""

import gc
import time
import weakref

from celery.utils.imports import symbol_by_name
from celery.worker.request import Request, create_request_cls
from kombu.asynchronous.timer import Entry, Timer

from future_celery.tasks import run_job
from future_celery.worker_request import JobRequest


def _request() -> JobRequest:
    return JobRequest.__new__(JobRequest)  # the fields that matter here need no message


def test_the_entry_is_read_back_while_the_timer_holds_it_and_none_once_it_left_the_timer():
    timer = Timer()
    request = _request()
    assert request._eta_timer_entry is None
    entry = timer.call_at(time.time() + 3600, lambda req: None, (request,), priority=6)
    request._eta_timer_entry = entry
    del entry
    assert request._eta_timer_entry is not None  # the timer's queue keeps it
    timer.cancel(request._eta_timer_entry)  # as Consumer.on_close does
    timer.clear()  # the entry leaves the queue, as when it fires
    assert request._eta_timer_entry is None
    request._eta_timer_entry = timer.call_at(time.time() + 3600, lambda req: None, (request,))
    request._eta_timer_entry = None  # cleared while the timer still holds the entry
    assert request._eta_timer_entry is None and len(timer.queue) == 1


def test_a_request_and_its_entry_are_freed_without_the_cycle_collector():
    gc.disable()
    try:
        for cls, freed in ((JobRequest, True), (Request, False)):
            request = cls.__new__(cls)
            request._eta_timer_entry = Entry(lambda req: None, (request,))
            gone = weakref.ref(request)
            del request
            assert (gone() is None) is freed, cls  # Celery's own keeps a cycle
    finally:
        gc.enable()
        gc.collect()


def test_the_worker_builds_run_jobs_requests_on_job_request():
    base = symbol_by_name(run_job.Request)
    assert base is JobRequest
    pool = type("Pool", (), {"apply_async": None})()
    assert issubclass(
        create_request_cls(base, run_job, pool, "host", None, app=run_job.app), JobRequest
    )
