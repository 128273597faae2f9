"""Packaging of future_celery (the build system and the tools' configuration are in
pyproject.toml). The one place of the version: future_celery.__version__ reads it from the
installed metadata; CHANGELOG.md says what each version holds."""

import atexit
import shutil
import tempfile
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
# setuptools' scratch files (build/ and future_celery.egg-info/, which it would write beside
# this file) go to a temporary folder of each run, removed when it ends: building or
# installing from a checkout (pip install ., pip install -e ., python -m build) leaves the
# source tree as git has it. The sdist still gets its PKG-INFO; pip its metadata.
SCRATCH = Path(tempfile.mkdtemp(prefix="future_celery-build-"))
atexit.register(shutil.rmtree, SCRATCH, ignore_errors=True)

setup(
    name="future_celery",
    version="0.2.0",
    description="Schedule callables to run at a given time on Celery, managed in the Django "
    "admin (the django-future API on Celery).",
    long_description=(HERE / "README.md").read_text(),
    long_description_content_type="text/markdown",
    license_expression="BSD-3-Clause",
    # Django 6.0 needs 3.12; Django 5.2 runs on 3.11 too (make test runs both).
    python_requires=">=3.11",
    # Ranges of what is supported; CI tests the pins in requirements/constraints.txt (Django
    # 6.1) and beside them Django 6.0 and 5.2, the LTS (db_default needs 5.0). kombu 5.7 is
    # the first with Producer.batch(), which the tick sends with; Celery 5.7 is the one
    # tested, and future_celery.messages and worker_request use its internals (tests/unit/
    # test_private_apis.py checks them). The caps are the next versions not tested.
    # django-celery-beat is optional (the celery-beat extra): its releases so far stop before
    # Django 6.1, and without it future_celery's beat scheduler stands on Celery's own.
    install_requires=[
        "Django>=5.2,<6.2",
        "celery>=5.7,<6",
        "kombu>=5.7,<6",
    ],
    # The broker's and the database's drivers: pip install "future_celery[redis,postgres]",
    # or [postgres] alone on RabbitMQ (kombu's amqp driver comes with kombu), or [redis] on
    # SQLite or MySQL. Nothing imports them unless that broker or database is used.
    extras_require={
        # kombu 5.7's own range; hiredis: the C parser of the Redis protocol (the worker's
        # main process spends a quarter of its time parsing replies without it).
        "redis": ["redis>=6.4,<9", "hiredis>=3.0"],
        # psycopg 3; future_celery.pg_direct uses some of its internals (checked by
        # tests/unit/test_private_apis.py).
        "postgres": ["psycopg[binary]>=3.2,<4"],
        # MySQL 8 or MariaDB 10.6 and newer (Django's driver; it compiles against the
        # client library: Debian's libmariadb-dev and pkg-config).
        "mysql": ["mysqlclient>=2.2.1"],
        # Django's Tasks framework on Django 5.2 (Django 6.0 has it as django.tasks).
        "tasks": ["django-tasks>=0.12"],
        # The tick as a periodic task in django-celery-beat's tables and admin (Django 5.2 and
        # 6.0 for now: its 2.9 release requires Django < 6.1).
        "celery-beat": ["django-celery-beat>=2.8,<3"],
        # Flower, Celery's monitor (the README's "Flower"): `celery -A yourproject flower`.
        "flower": ["flower>=2.0,<3"],
    },
    # celery beat -S future_celery, as django-celery-beat's -S django.
    entry_points={
        "celery.beat_schedulers": ["future_celery = future_celery.beat:DatabaseScheduler"]
    },
    packages=find_packages(include=["future_celery", "future_celery.*"]),
    # The data files are these, not MANIFEST.in's (which only adds to the sdist):
    # include_package_data would take locale/*/LC_MESSAGES for a package.
    include_package_data=False,
    package_data={
        "future_celery": [
            "py.typed",
            "locale/*/LC_MESSAGES/django.po",
            "locale/*/LC_MESSAGES/django.mo",
            "static/future_celery/*.css",
        ]
    },
    options={
        "build": {"build_base": str(SCRATCH / "build")},
        "egg_info": {"egg_base": str(SCRATCH)},
    },
    classifiers=[
        "Framework :: Celery",
        "Framework :: Django",
        "Framework :: Django :: 5.2",
        "Framework :: Django :: 6.0",
        "Framework :: Django :: 6.1",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Programming Language :: Python :: 3.13",
        "Typing :: Typed",
    ],
)
