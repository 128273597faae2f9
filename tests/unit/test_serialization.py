import datetime as dt
import decimal
import json
import math
import uuid
import zoneinfo

import pytest

from future_celery.exceptions import ArgumentNotSerializable
from future_celery.serialization import decode, encode, encode_call

VALUES = [
    "text",
    "",
    0,
    -7,
    2**70,
    1.25,
    True,
    False,
    None,
    [1, "two", [3]],
    (1, (2, 3)),
    (),
    {"a": 1, "b": [1, 2]},
    {},
    dt.datetime(2026, 5, 1, 10, 30, 15, 123456, tzinfo=dt.UTC),
    dt.datetime(2026, 5, 1, 10, 30, tzinfo=zoneinfo.ZoneInfo("America/New_York")),
    dt.datetime(2026, 5, 1, 10, 30),
    dt.date(2026, 5, 1),
    dt.time(23, 59, 58, 5),
    dt.timedelta(days=-1, seconds=5, microseconds=7),
    decimal.Decimal("3.14159265358979323846"),
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    {"$tuple": [1]},
    {"$": 1},
    {"$datetime": "not a date"},
    {"$x": 1, "$y": 2},
    [{"nested": ({"deep": dt.date(2020, 1, 1)},)}],
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_values_come_back_as_they_went_in(value):
    stored = json.loads(json.dumps(encode(value)))  # what the database gives back
    result = decode(stored)
    assert result == value
    assert type(result) is type(value)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_floats_come_back(value):
    result = decode(json.loads(json.dumps(encode(value), allow_nan=False)))
    assert result == value or (math.isnan(result) and math.isnan(value))


def test_stored_form_is_readable_json():
    stored = encode([dt.date(2026, 1, 2), (1, 2), decimal.Decimal("1.5")])
    assert stored == [{"$date": "2026-01-02"}, {"$tuple": [1, 2]}, {"$decimal": "1.5"}]


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ([object()], None, "args[0] cannot be stored as JSON: builtins.object"),
        ([1, {3, 4}], None, "args[1] cannot be stored as JSON: builtins.set"),
        ([b"bytes"], None, "args[0] cannot be stored as JSON: builtins.bytes"),
        ([], {"when": lambda: 1}, "kwargs['when'] cannot be stored as JSON"),
        ([{"a": [1, object()]}], None, "args[0]['a'][1] cannot be stored"),
        ([{1: "int key"}], None, "key 1 is a int"),
        ("not a list", None, "args must be a list or tuple"),
        ({"a": 1}, None, "args must be a list or tuple"),
        (5, None, "args must be a list or tuple"),
        ([], ["x"], "kwargs must be a dict"),
        ([], {"not valid": 1}, "kwargs key 'not valid'"),
        (["a\x00b"], None, "args[0] cannot be stored: 'a\\x00b' contains a NUL character"),
        (
            [1, ["ok", {"k": "x\x00"}]],
            None,
            "args[1][1]['k'] cannot be stored: 'x\\x00' contains a NUL",
        ),
        ([{"k\x00": 1}], None, "args[0] cannot be stored: its key 'k\\x00' contains a NUL"),
        ([], {"k": "\x00"}, "kwargs['k'] cannot be stored: '\\x00' contains a NUL"),
    ],
)
def test_unsupported_arguments_raise_type_error_naming_them(args, kwargs, message):
    with pytest.raises(TypeError) as info:
        encode_call(args, kwargs)
    assert isinstance(info.value, ArgumentNotSerializable)
    assert message in str(info.value)


def test_encode_call_accepts_tuples_and_generators():
    assert encode_call((1, 2), None) == ([1, 2], {})
    assert encode_call((i for i in range(2)), {"k": "v"}) == ([0, 1], {"k": "v"})
