"""The Celery app future_celery publishes through: the project's, never Celery's fallback.

A Celery-with-Django project makes its app in ``yourproject/celery.py``, and its
``yourproject/__init__.py`` imports it (``from .celery import app as celery_app``), so that
the app exists in every process that loads the settings: web processes, ``manage.py shell``,
scripts. Without that line, nothing makes the app in those processes, and Celery's
``current_app`` quietly falls back to an app of its own, unconfigured, which publishes to
``amqp://guest@localhost//``: the jobs handed over after a commit sat in a queue nothing
read. So the publishing path never takes that fallback. The app is, in this order:

1. in a worker, inside a task it runs (a job that schedules jobs, the tick as a task): the
   app of that task, the one ``celery -A`` loaded;
2. the app ``FUTURE_CELERY_CELERY_APP`` names, as ``celery -A`` takes it
   (``"yourproject.celery:app"``, ``"yourproject.celery.app"``, ``"yourproject.celery"`` or
   ``"yourproject"``), imported when first needed;
3. Celery's current app when it is one a project made (``celery -A`` makes its app the
   current one in workers and beat), not the fallback;

and otherwise get() raises CeleryAppNotConfigured, which names the missing line and the
setting; the system check future_celery.E010 reports the same at ``manage.py check``.

This reads two private names of ``celery._state`` (the current app of the thread and the
default app, without making the fallback as ``current_app`` would), listed by
private_apis() and checked by tests/unit/test_private_apis.py.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from celery import _state
from celery.app.utils import find_app
from kombu.utils.imports import symbol_by_name

from . import conf
from .exceptions import CeleryAppNotConfigured

if TYPE_CHECKING:
    from celery import Celery

SETTING = "FUTURE_CELERY_CELERY_APP"
MISSING_LINE = "from .celery import app as celery_app"

# celery-types' stubs of celery._state leave out its private names read here.
_private_state: Any = _state

_lock = threading.Lock()
_named: dict[str, Celery] = {}  # FUTURE_CELERY_CELERY_APP's value -> the app it names


def get() -> Celery:
    """The Celery app to publish through (see the module's docstring), or
    CeleryAppNotConfigured."""
    task = _state.get_current_worker_task()
    if task is not None:
        return task.app
    name = conf.get("CELERY_APP")
    if name:
        return named(name)
    app = current()
    if app is None:
        raise CeleryAppNotConfigured(not_loaded_message())
    return app


def current() -> Celery | None:
    """The current app of this thread, else the process's default app, when a project made
    it; None when there is only Celery's fallback (or nothing yet)."""
    for app in (_private_state._tls.current_app, _private_state.default_app):
        if app is not None and not is_fallback(app):
            return app
    return None


def is_fallback(app: Any) -> bool:
    """Whether ``app`` is the app Celery makes for itself when no other exists
    (celery._state: ``Celery("default", fixups=[], set_as_current=False)``)."""
    return app.main == "default" and not app.set_as_current and not app.fixups


def named(name: str) -> Celery:
    """The app ``name`` names, found as ``celery -A name`` finds it; CeleryAppNotConfigured
    when it names nothing importable or something else than a Celery app."""
    from celery import Celery

    if not isinstance(name, str):
        raise CeleryAppNotConfigured(
            f"{SETTING} must be a string, the app's name as `celery -A` takes it, e.g. "
            f"'yourproject.celery:app'; not {name!r}."
        )
    with _lock:
        app = _named.get(name)
        if app is not None:
            return app
        try:
            # "module:attribute" names its app outright (find_app would take a missing
            # attribute for a module and report the module missing).
            app = symbol_by_name(name) if ":" in name else find_app(name)
        except (ImportError, AttributeError) as exc:
            raise CeleryAppNotConfigured(
                f"{SETTING} = {name!r} names no Celery app: {type(exc).__name__}: {exc}. Give "
                "it what you give `celery -A`, e.g. 'yourproject.celery:app'."
            ) from exc
        if not isinstance(app, Celery):
            raise CeleryAppNotConfigured(
                f"{SETTING} = {name!r} names {app!r}, not a Celery app. Give it what you "
                "give `celery -A`, e.g. 'yourproject.celery:app'."
            )
        _named[name] = app
        return app


def not_loaded_message() -> str:
    return (
        "future_celery found no Celery app of the project in this process, only Celery's "
        "default one, which would send the jobs to amqp://guest@localhost// where no worker "
        "of yours reads them. Import the app where Django loads it: add the line "
        f"`{MISSING_LINE}` to yourproject/__init__.py (beside yourproject/celery.py, as "
        f"Celery's Django guide says), or name it in the setting {SETTING} = "
        "'yourproject.celery:app'. A project that runs its jobs without Celery "
        "(process_tasks, runscheduledjobs) sets FUTURE_CELERY_DISPATCH_ON_COMMIT = False "
        "instead."
    )


def private_apis() -> list[tuple[str, Any, tuple[str, ...] | None]]:
    """Each private API this module uses, as messages.private_apis() lists its own."""
    return [
        (
            "celery._state._tls.current_app",
            _private_state._tls if hasattr(_private_state._tls, "current_app") else None,
            None,
        ),
        ("celery._state.default_app", _state if hasattr(_state, "default_app") else None, None),
        ("celery._state.get_current_worker_task", _state.get_current_worker_task, ()),
    ]
