import pytest
from django.test import override_settings

from future_celery import callables
from future_celery.exceptions import CallableNotAllowed, CallableNotFound
from proj.demo import jobs


def test_a_dotted_path_resolves_to_the_function():
    assert callables.resolve_path("proj.demo.jobs.say_hello") is jobs.say_hello


def test_a_class_attribute_path_resolves():
    assert callables.resolve_path("proj.demo.models.Note.remind") is jobs.Note.remind


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("say_hello", "is not a dotted path"),
        ("proj.demo.jobs.", "is not a dotted path"),
        ("proj.demo.jobs.nope", "module 'proj.demo.jobs' has no 'nope'"),
        ("nosuchpackage.jobs.x", "no module 'nosuchpackage'"),
        ("proj.demo.nomodule.x", "module 'proj.demo' has no 'nomodule.x'"),
        ("proj.demo.jobs.os", "is not callable"),
        ("proj.settings.DEBUG", "is not callable"),
        ("proj.demo.jobs.say hello", "is not a dotted path"),
    ],
)
def test_unresolvable_paths_raise_import_error_naming_the_path(path, message):
    with pytest.raises(ImportError) as info:
        callables.resolve_path(path)
    assert isinstance(info.value, CallableNotFound)
    assert repr(path) in str(info.value) and message in str(info.value)


def test_a_module_level_function_is_named_by_its_path():
    assert callables.path_of(jobs.say_hello) == "proj.demo.jobs.say_hello"


def test_lambdas_and_nested_functions_cannot_be_named():
    def nested():
        pass

    for func in (lambda: None, nested):
        with pytest.raises(CallableNotFound, match="importable by a dotted path"):
            callables.path_of(func)


@override_settings(FUTURE_CELERY_ALLOWED_CALLABLES=None)
def test_everything_is_allowed_without_an_allow_list():
    callables.check_allowed("anything.at.all")


@override_settings(FUTURE_CELERY_ALLOWED_CALLABLES=["proj.demo.jobs.*", "other.task"])
def test_the_allow_list_admits_matching_names_only():
    callables.check_allowed("proj.demo.jobs.say_hello")
    callables.check_allowed("other.task")
    for name in ("proj.demo.models.Note.remind", "other.task2", "os.system"):
        with pytest.raises(CallableNotAllowed, match=repr(name)):
            callables.check_allowed(name)


def test_a_method_is_allow_listed_under_its_model():
    assert callables.allow_name("remind", "demo.note") == "demo.note.remind"
    assert (
        callables.allow_name("proj.demo.jobs.note_title", "demo.note")
        == "proj.demo.jobs.note_title"
    )
