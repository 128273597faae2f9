"""The README's examples run against the real app, and it documents every setting."""

import doctest
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.db import connection

from future_celery import ScheduledJob, conf
from proj.settings import SERVER_ENGINES

README = Path(__file__).resolve().parents[2] / "README.md"
# The database vendor each DATABASE_URL scheme names (proj/settings.py; SQLite when unset).
VENDORS = {**SERVER_ENGINES, "sqlite": "sqlite"}


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
    runner.run(test, out=output.append, clear_globs=False)  # its names are checked below
    assert runner.failures == 0, "".join(output)
    # They ran against the database DATABASE_URL names: the jobs they hold are rows in it.
    url = os.environ.get("DATABASE_URL", "sqlite:///")
    assert connection.vendor == VENDORS[urlsplit(url).scheme], url
    jobs = {job.pk for job in doctest_jobs(test.globs)}
    assert jobs, "the examples keep no job in a name"
    assert ScheduledJob.objects.filter(pk__in=jobs).count() == len(jobs)


def doctest_jobs(names: dict) -> list[ScheduledJob]:
    """The ScheduledJob objects the examples' names hold, alone or in a list."""
    values = [
        v for value in names.values() for v in (value if isinstance(value, list) else [value])
    ]
    return [value for value in values if isinstance(value, ScheduledJob)]


def test_the_readme_documents_every_setting():
    text = README.read_text()
    missing = [name for name in conf.DEFAULTS if f"`FUTURE_CELERY_{name}`" not in text]
    assert not missing
