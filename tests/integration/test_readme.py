"""The README's examples run against the real app, and it documents every setting."""

import doctest
import re
from pathlib import Path

import pytest
from django.db import connection

from future_celery import conf

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_examples() -> str:
    """The README's ```pycon blocks, joined as one doctest (later blocks use earlier names)."""
    return "\n".join(re.findall(r"```pycon\n(.*?)```", README.read_text(), re.S))


@pytest.mark.django_db
def test_the_readme_examples_run():
    source = readme_examples()
    assert source.count(">>>") > 20
    test = doctest.DocTestParser().get_doctest(source, {}, "README.md", str(README), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    output = []
    runner.run(test, out=output.append)
    assert runner.failures == 0, "".join(output)
    assert connection.vendor  # ran against the configured database


def test_the_readme_documents_every_setting():
    text = README.read_text()
    missing = [name for name in conf.DEFAULTS if f"`FUTURE_CELERY_{name}`" not in text]
    assert not missing
