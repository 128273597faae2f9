"""The worker's request object for run_job messages: Celery's own, without the reference
cycle that Celery 5.7 puts in every request with an eta.

Celery's strategy stores the timer entry of an eta request on the request
(``_eta_timer_entry``, so that a lost connection can cancel it), and the entry holds the
request among its arguments. Each request with an eta is then part of a cycle, and after its
job ran only a full collection of the worker's main process frees it. Every job of
future_celery comes with an eta, so that garbage grows by thousands of objects per second
under load, and each full collection walks it (for tens of milliseconds: see
docs/performance.md), during which the main process hands no job to the pool and every job
falling due meanwhile starts late. Here the request keeps a weak reference to its entry instead. The
timer's queue holds the entry until it fires or is cancelled, which is as long as anything
needs it; the request and its message are then freed as soon as the job is done."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from celery.worker.request import Request

if TYPE_CHECKING:
    from kombu.asynchronous.timer import Entry

_ENTRY = "_future_celery_eta_entry"


class JobRequest(Request):
    @property
    def _eta_timer_entry(self) -> Entry | None:
        ref: weakref.ref[Entry] | None = self.__dict__.get(_ENTRY)
        return None if ref is None else ref()

    @_eta_timer_entry.setter
    def _eta_timer_entry(self, entry: Entry | None) -> None:
        self.__dict__[_ENTRY] = None if entry is None else weakref.ref(entry)
