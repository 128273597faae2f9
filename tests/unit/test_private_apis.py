"""The private APIs of Django, psycopg and Celery that future_celery depends on (listed in
future_celery.pg_direct and future_celery.messages): an upgrade that removes or changes one
fails here with a message naming it, before anything subtler breaks."""

from __future__ import annotations

import inspect

import pytest

from future_celery import celery_app, messages, pg_direct

APIS = pg_direct.private_apis() + messages.private_apis() + celery_app.private_apis()


@pytest.mark.parametrize(("name", "obj", "params"), APIS, ids=[api[0] for api in APIS])
def test_each_private_api_we_depend_on_is_there_as_we_call_it(name, obj, params):
    assert obj is not None, f"{name} is gone: see the header of the module that lists it"
    if params is None:
        return
    found = inspect.signature(obj).parameters
    missing = [param for param in params if param not in found]
    assert not missing, (
        f"{name} changed: it no longer takes {missing} (it takes {list(found)}); "
        "see the header of the module that lists it"
    )


def test_the_check_fails_with_a_message_naming_a_changed_api():
    def changed(self, other):  # stands for an upgraded _prepare_cursor
        pass

    with pytest.raises(AssertionError, match=r"_prepare_cursor changed.*'cursor'"):
        test_each_private_api_we_depend_on_is_there_as_we_call_it(
            "django BaseDatabaseWrapper._prepare_cursor", changed, ("self", "cursor")
        )
