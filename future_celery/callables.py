"""Naming, resolving and allow-listing the callables that jobs run."""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import importlib
import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from asgiref.sync import async_to_sync
from django.db import models

from . import conf, options
from .exceptions import CallableNotAllowed, CallableNotFound, WrongOptionType

# Functions registered under a name (@background's): the name a job row stores, and the
# function it runs. Filled as the modules that define them are imported.
_registered: dict[str, Callable[..., Any]] = {}
_discovered = False


def register(name: str, func: Callable[..., Any], replace: bool = False) -> None:
    """Make jobs named ``name`` run ``func`` (a second function under one name raises, unless
    ``replace``: then the newest wins, as django-background-tasks' names do)."""
    known = _registered.get(name)
    if known is not None and known is not func and _where(known) != _where(func) and not replace:
        raise CallableNotFound(
            f"two functions are registered as {name!r}: {_where(known)} and {_where(func)}; "
            "give one of them another name"
        )
    _registered[name] = func


def is_registered(name: str) -> bool:
    """Whether ``name`` is registered (see register), after looking in the tasks modules."""
    return name in _registered or (_discover() and name in _registered)


def _where(func: Callable[..., Any]) -> str:
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', '?')}"


def path_of_decorated(func: Callable[..., Any]) -> str:
    """The dotted path of a module-level function being decorated (its module is still
    being imported, so the path cannot be checked by importing it yet)."""
    module = getattr(func, "__module__", None)
    qualname = getattr(func, "__qualname__", None)
    if not module or not qualname or "<" in qualname or module == "__main__":
        raise CallableNotFound(
            f"{func!r} cannot be a job: only functions importable by a dotted path "
            "(defined at module level, not lambdas, nested functions or __main__) can be"
        )
    return f"{module}.{qualname}"


def path_of(func: Callable[..., Any]) -> str:
    """The dotted path under which a module-level function can be imported again."""
    path = path_of_decorated(func)
    resolved = resolve_path(path)
    if resolved is not func and getattr(func, "task_function", None) is not resolved:
        raise CallableNotFound(f"{func!r} cannot be scheduled: {path!r} imports another object")
    return path


def resolve_path(path: str) -> Callable[..., Any]:
    """The function a job named ``path`` runs: a registered one (see register), else the
    object ``package.module.function`` (or ``module.Class.method``) imports. A name that is
    neither is looked for once in the tasks modules of the installed apps, where
    django-background-tasks' functions live."""
    found = _registered.get(path)
    if found is not None:
        return found
    try:
        target = _import(path)
    except CallableNotFound:
        # Importing it may have registered it, leaving another object at its path (a
        # Django @task leaves its Task, which is not callable: see tasks_backend).
        found = _registered.get(path)
        if found is not None:
            return found
        if not _discover():
            raise
        found = _registered.get(path)
        if found is None:
            raise
        return found
    return _registered.get(path, target)  # importing it may have registered it


def _discover() -> bool:
    """Import the ``tasks`` module of every installed app, once; False if done before."""
    global _discovered
    if _discovered:
        return False
    _discovered = True
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("tasks")
    return True


def discover() -> None:
    """Import the tasks modules of the installed apps now (for a process that runs jobs)."""
    _discover()


def _import(path: str) -> Callable[..., Any]:
    parts = path.split(".")
    if len(parts) < 2 or not all(part.isidentifier() for part in parts):
        raise CallableNotFound(
            f"callable {path!r} is not a dotted path such as 'myapp.jobs.remind', nor the "
            "name of a registered @background function"
        )
    for split in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:split])
        try:
            target: Any = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # this prefix is not a module; try a shorter one
            raise CallableNotFound(f"callable {path!r} cannot be imported: {exc}") from exc
        except Exception as exc:
            raise CallableNotFound(f"callable {path!r} cannot be imported: {exc!r}") from exc
        try:
            for attribute in parts[split:]:
                target = getattr(target, attribute)
        except AttributeError:
            raise CallableNotFound(
                f"callable {path!r} not found: module {module_name!r} has no "
                f"{'.'.join(parts[split:])!r}"
            ) from None
        if not callable(target):
            raise CallableNotFound(f"{path!r} is not callable (it is a {type(target).__name__})")
        return target
    raise CallableNotFound(f"callable {path!r} cannot be imported: no module {parts[0]!r}")


def invoke(func: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> Any:
    """Call a job's ``func`` and return what it returns; an ``async def`` one (or one that
    returns a coroutine) is run to its end first (see run_coroutine)."""
    if inspect.iscoroutinefunction(func):
        return run_coroutine(func(*args, **kwargs))
    result = func(*args, **kwargs)
    if inspect.iscoroutine(result):  # e.g. a sync wrapper of an async def function
        return run_coroutine(result)
    return result


def run_coroutine(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coroutine`` to its end and return its result, through asgiref's async_to_sync,
    as Django's Task.call() does: its event loop runs in a thread of its own, while this
    thread serves the coroutine's thread-sensitive sync_to_async calls (Django's async ORM
    methods, aget(), acreate()...), which thus run here, on this thread's database
    connection, inside the transaction the caller has open (the job's: see execution).

    An exception raised in this thread meanwhile (a worker's soft time limit, which Celery
    raises in the thread that runs the job) cancels the coroutine, as it stops a sync job:
    without that, it would run on in its loop's thread after its job was recorded failed."""
    running: list[asyncio.Task[Any]] = []

    async def main() -> Any:
        task = asyncio.current_task()
        assert task is not None  # main() runs as a task of its own loop
        running.append(task)
        return await coroutine

    try:
        return async_to_sync(main)()
    except BaseException:
        if not running:
            coroutine.close()  # never started (no "never awaited" warning)
        elif not running[0].done():
            with contextlib.suppress(RuntimeError):  # its loop closed meanwhile: it is done
                running[0].get_loop().call_soon_threadsafe(running[0].cancel)
        raise


def resolve_method(obj: models.Model, name: str) -> Callable[..., Any]:
    """The bound method ``name`` of a content object."""
    method = getattr(obj, name, None)
    if not callable(method):
        raise CallableNotFound(f"{obj._meta.label} object has no method {name!r} to run as a job")
    return method


def allow_name(callable_name: str, content_type_label: str | None) -> str:
    """The name the allow-list is matched against: a method is named after its model."""
    if content_type_label and "." not in callable_name:
        return f"{content_type_label}.{callable_name}"
    return callable_name


def check_allowed(name: str) -> None:
    """Raise CallableNotAllowed unless FUTURE_CELERY_ALLOWED_CALLABLES admits ``name``."""
    patterns = conf.get("ALLOWED_CALLABLES")
    if patterns is None:
        return
    if isinstance(patterns, str):
        patterns = [patterns]
    if not any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns):
        raise CallableNotAllowed(
            f"callable {name!r} is not allowed by FUTURE_CELERY_ALLOWED_CALLABLES"
        )


def name_of(
    target: str | Callable[..., Any], content_object: models.Model | None = None
) -> tuple[str, str | None]:
    """The name a job stores for ``target`` (a dotted path, a registered name, a function,
    or with a content object one of its methods), checked to resolve now; and the object's
    model label."""
    label = None
    if content_object is not None:
        options.saved_model("content_object", content_object)
        label = content_object._meta.label_lower
    if isinstance(target, str):
        if "." not in target and content_object is not None:
            resolve_method(content_object, target)
        elif "." not in target and not is_registered(target):
            raise CallableNotFound(
                f"callable {target!r} is not a dotted path; a method name needs a content_object"
            )
        else:
            resolve_path(target)
        return target, label
    if callable(target):
        return path_of(target), label
    raise WrongOptionType(
        f"callable must be a dotted path or a function, not {type(target).__name__}"
    )
