"""freeze_startup_objects, the handler of worker_before_create_process, worker_ready and
worker_process_init (the worker test in test_engine proves it runs in a real pool process)."""

import gc

import pytest
from celery import signals

from future_celery.signal_handlers import freeze_startup_objects


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_it_moves_the_objects_loaded_so_far_out_of_the_collectors_reach(unfrozen):
    assert gc.get_freeze_count() == 0
    freeze_startup_objects()
    assert gc.get_freeze_count() > 10_000


def test_the_setting_turns_it_off(unfrozen, settings):
    settings.FUTURE_CELERY_WORKER_GC_FREEZE = False
    freeze_startup_objects()
    assert gc.get_freeze_count() == 0


def test_it_runs_when_the_worker_and_each_pool_process_start():
    for signal in (
        signals.worker_before_create_process,
        signals.worker_ready,
        signals.worker_process_init,
    ):
        receivers = [receiver for _, receiver in signal.receivers]  # connected weak=False
        assert freeze_startup_objects in receivers, signal.name
