"""Job arguments as readable JSON, never pickle.

JSON types are stored as they are. Other supported values become a one-key object whose key
names the type, e.g. ``{"$datetime": "2026-01-01T10:00:00+00:00"}``; a model instance is
stored as a reference, ``{"$model": ["app_label.modelname", "<pk>"]}``, and fetched fresh
when the job runs. A user dict that looks like a tag is wrapped in ``{"$dict": ...}`` so it
comes back unchanged.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import uuid
from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.db import models

from .exceptions import ArgumentNotSerializable, ContentObjectMissing

TAG = "$"


def _model_ref(obj: models.Model) -> list[str]:
    if obj.pk is None:
        raise ValueError("it is not saved (its primary key is None)")
    return [obj._meta.label_lower, str(obj.pk)]


def _load_model(ref: list[str]) -> models.Model:
    label, pk = ref
    model = apps.get_model(label)
    try:
        return model._default_manager.get(pk=model._meta.pk.to_python(pk))
    except model.DoesNotExist:
        raise ContentObjectMissing(
            f"the {label} with primary key {pk!r} that the job refers to no longer exists"
        ) from None


def _load_float(text: str) -> float:
    return float(text)


# Tagged scalar types: name -> (type test, encode, decode). Order matters: datetime before
# date, since a datetime is a date. Tuples and dicts are tagged in encode/decode themselves.
_TAGGED: list[tuple[str, Callable[[Any], bool], Callable[[Any], Any], Callable[[Any], Any]]] = [
    (
        "datetime",
        lambda v: isinstance(v, dt.datetime),
        dt.datetime.isoformat,
        dt.datetime.fromisoformat,
    ),
    ("date", lambda v: isinstance(v, dt.date), dt.date.isoformat, dt.date.fromisoformat),
    ("time", lambda v: isinstance(v, dt.time), dt.time.isoformat, dt.time.fromisoformat),
    (
        "timedelta",
        lambda v: isinstance(v, dt.timedelta),
        lambda v: [v.days, v.seconds, v.microseconds],
        lambda v: dt.timedelta(*v),
    ),
    ("decimal", lambda v: isinstance(v, decimal.Decimal), str, decimal.Decimal),
    ("uuid", lambda v: isinstance(v, uuid.UUID), str, uuid.UUID),
    ("float", lambda v: isinstance(v, float) and not math.isfinite(v), repr, _load_float),
    ("model", lambda v: isinstance(v, models.Model), _model_ref, _load_model),
]
_DECODERS = {TAG + name: decode for name, _, _, decode in _TAGGED}
# Types whose values encode() returns unchanged, so callers skip the call (not float: inf
# and nan are tagged; not str: it is checked for NUL).
_PLAIN = frozenset({int, bool, type(None)})

_NUL = "\x00"


def _no_nul(text: str, path: str, what: str = "") -> str:
    if _NUL in text:
        raise ArgumentNotSerializable(
            f"{path} cannot be stored: {what}{text!r:.80} contains a NUL character (\\x00), "
            "which PostgreSQL's JSON cannot hold"
        )
    return text


def encode(value: Any, path: str = "argument") -> Any:
    """``value`` as JSON-native data; ArgumentNotSerializable names what cannot be stored."""
    if isinstance(value, str):
        return _no_nul(value, path)
    if (
        value is None
        or isinstance(value, (bool, int))
        or (isinstance(value, float) and math.isfinite(value))
    ):
        return value
    if isinstance(value, (list, tuple)):
        items = [
            item if type(item) in _PLAIN else encode(item, f"{path}[{i}]")
            for i, item in enumerate(value)
        ]
        return {TAG + "tuple": items} if isinstance(value, tuple) else items
    if isinstance(value, dict):
        encoded = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ArgumentNotSerializable(
                    f"{path} cannot be stored as JSON: key {key!r} is a "
                    f"{type(key).__name__}, only str keys are supported"
                )
            _no_nul(key, path, "its key ")
            encoded[key] = item if type(item) in _PLAIN else encode(item, f"{path}[{key!r}]")
        if len(encoded) == 1 and next(iter(encoded)).startswith(TAG):
            return {TAG + "dict": encoded}
        return encoded
    for name, test, to_json, _ in _TAGGED:
        if test(value):
            try:
                return {TAG + name: to_json(value)}
            except ValueError as exc:
                raise ArgumentNotSerializable(f"{path} cannot be stored: {exc}") from None
    raise ArgumentNotSerializable(
        f"{path} cannot be stored as JSON: {type(value).__module__}.{type(value).__qualname__} "
        f"is not supported ({value!r:.80})"
    )


def decode(data: Any) -> Any:
    """The Python value that :func:`encode` stored; model references are fetched now."""
    if isinstance(data, list):
        return [decode(item) for item in data]
    if isinstance(data, dict):
        if len(data) == 1:
            ((key, inner),) = data.items()
            if key == TAG + "dict":
                return {k: decode(v) for k, v in inner.items()}
            if key == TAG + "tuple":
                return tuple(decode(item) for item in inner)
            if key in _DECODERS:
                return _DECODERS[key](inner)
        return {key: decode(item) for key, item in data.items()}
    return data


def encode_call(args: Any, kwargs: Any) -> tuple[list[Any], dict[str, Any]]:
    """A job's positional and keyword arguments, validated and encoded."""
    if isinstance(args, (str, bytes, dict)) or not hasattr(args, "__iter__"):
        raise ArgumentNotSerializable(
            f"args must be a list or tuple of arguments, not {type(args).__name__}"
        )
    if kwargs is None:
        kwargs = {}
    if not isinstance(kwargs, dict):
        raise ArgumentNotSerializable(f"kwargs must be a dict, not {type(kwargs).__name__}")
    for key in kwargs:
        if not isinstance(key, str) or not key.isidentifier():
            raise ArgumentNotSerializable(f"kwargs key {key!r} is not a valid argument name")
    # The path that names a bad argument is only written out for those that need encoding.
    encoded_args = [
        arg if type(arg) in _PLAIN else encode(arg, f"args[{i}]") for i, arg in enumerate(args)
    ]
    encoded_kwargs = {
        key: value if type(value) in _PLAIN else encode(value, f"kwargs[{key!r}]")
        for key, value in kwargs.items()
    }
    return encoded_args, encoded_kwargs
