"""Naming, resolving and allow-listing the callables that jobs run."""

from __future__ import annotations

import fnmatch
import importlib
from collections.abc import Callable
from typing import Any

from django.db import models

from . import conf
from .exceptions import CallableNotAllowed, CallableNotFound


def path_of(func: Callable[..., Any]) -> str:
    """The dotted path under which a module-level function can be imported again."""
    module = getattr(func, "__module__", None)
    qualname = getattr(func, "__qualname__", None)
    if not module or not qualname or "<" in qualname:
        raise CallableNotFound(
            f"{func!r} cannot be scheduled: only functions importable by a dotted path "
            "(defined at module level, not lambdas or nested functions) can be"
        )
    path = f"{module}.{qualname}"
    if resolve_path(path) is not func:
        raise CallableNotFound(f"{func!r} cannot be scheduled: {path!r} imports another object")
    return path


def resolve_path(path: str) -> Callable[..., Any]:
    """Import ``package.module.function`` (or ``module.Class.method``) and return it."""
    parts = path.split(".")
    if len(parts) < 2 or not all(part.isidentifier() for part in parts):
        raise CallableNotFound(
            f"callable {path!r} is not a dotted path such as 'myapp.jobs.remind'"
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
