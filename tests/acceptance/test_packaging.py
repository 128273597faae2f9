"""The package as a user gets it: `python -m build` makes an sdist and, from it, a wheel that
holds the whole app (migrations, translations, py.typed) and nothing else; the wheel installs
into a new venv and serves a minimal Django project (check, migrate) and `celery beat -S
future_celery`."""

from __future__ import annotations

import base64
import email
import os
import re
import subprocess
import sys
import tarfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from tests.processes import ROOT, Process, free_port

PACKAGE = ROOT / "future_celery"
VERSION = re.search(r'\n    version="([^"]+)"', (ROOT / "setup.py").read_text()).group(1)
CONSTRAINTS = ROOT / "requirements" / "constraints.txt"
# setuptools' warnings of a data folder taken for a package, or of a package-data pattern
# that matches nothing: each means a file missing from the wheel, or one there by accident.
BUILD_WARNINGS = ("absent from the `packages` configuration", "no files found matching")

SETTINGS = """\
from pathlib import Path

WITH_CELERY_BEAT = {with_celery_beat}

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = "test-packaging"
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    *(["django_celery_beat"] if WITH_CELERY_BEAT else []),
    "future_celery",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
ROOT_URLCONF = "urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}}
USE_TZ = True
CELERY_BROKER_URL = "memory://"
# The site's Celery app (sitecelery.py), named for future_celery as `celery -A` takes it.
FUTURE_CELERY_CELERY_APP = "sitecelery:app"
"""

# The Celery app of the site (a module of its own: the site has no package whose __init__.py
# would import it; a module named celery.py would hide the celery package).
SITE_CELERY = """\
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
app = Celery("site")
app.config_from_object("django.conf:settings", namespace="CELERY")
"""

URLS = """\
from django.contrib import admin
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]
"""

MANAGE = """\
import os
import re
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
from django.core.management import execute_from_command_line

execute_from_command_line(sys.argv)
"""

# What `celery beat -S future_celery` does with its argument: celery.beat.Service resolves
# the name through the celery.beat_schedulers entry points, then makes the scheduler, on
# django-celery-beat's when the site has it, else on Celery's own.
BEAT_SCHEDULER = """\
import django

django.setup()
from importlib.metadata import entry_points

from celery import Celery
from celery.beat import PersistentScheduler, Service

from future_celery.beat import mode

schedulers = {ep.name: ep.value for ep in entry_points(group="celery.beat_schedulers")}
assert schedulers["future_celery"] == "future_celery.beat:DatabaseScheduler", schedulers
if mode().name == "django-celery-beat":
    from django_celery_beat.schedulers import DatabaseScheduler as base
else:
    base = PersistentScheduler
app = Celery("site")
app.config_from_object("django.conf:settings", namespace="CELERY")
service = Service(app, scheduler_cls="future_celery", schedule_filename="beat-schedule")
scheduler = service.get_scheduler(lazy=True)
assert isinstance(scheduler, base), type(scheduler).__mro__
scheduler.setup_schedule()
print(type(scheduler).__module__, mode().name, sorted(scheduler.schedule))
"""


# A project on RabbitMQ and SQLite or MySQL installs neither redis nor psycopg: every module
# but the Redis transport imports without them (psycopg is not installed; redis is hidden).
IMPORT_ALL_WITHOUT_DRIVERS = """\
import sys

sys.modules["redis"] = None
import importlib
import pkgutil

import django

django.setup()
import future_celery

modules = [m.name for m in pkgutil.walk_packages(future_celery.__path__, "future_celery.")]
for name in modules:
    if name != "future_celery.redis_transport":
        importlib.import_module(name)
print(len(modules))
"""


def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run a command to its end; its output, or a failure that shows the output."""
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(map(str, command))} failed:\n{output}"
    return output


def source_tree(target: Path) -> Path:
    """A copy of the repository's files as git sees them (tracked, or new and not ignored),
    so that nothing stale or ignored in the work tree (an old *.egg-info, .venv) reaches the
    build, and the build writes nothing into the work tree."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # not a file deleted but not yet staged
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_bytes(source.read_bytes())
    return target


def package_files() -> set[str]:
    """The files a wheel of the package must hold, as paths in the wheel."""
    patterns = ("**/*.py", "py.typed", "locale/*/LC_MESSAGES/*.po", "locale/*/LC_MESSAGES/*.mo")
    return {
        path.relative_to(ROOT).as_posix()
        for pattern in patterns
        for path in PACKAGE.glob(pattern)
        if "__pycache__" not in path.parts
    }


def clean_env(venv: Path) -> dict[str, str]:
    """The environment of a shell in ``venv``: none of the test run's Python or Django."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST", "PYTHON", "DJANGO", "VIRTUAL_ENV"))
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    return env


# The three Django series supported, each at the versions make test pins (5.2 with the
# django-tasks backport, which Django 6.0 has as django.tasks): 6.1 without django-celery-beat
# (none of its releases installs beside it), 6.0 and 5.2 with it (the celery-beat extra).
DJANGOS = {
    "django-6.1": (CONSTRAINTS, "redis,flower", False),
    "django-6.0": (
        ROOT / "requirements" / "constraints-django60.txt",
        "redis,celery-beat,flower",
        True,
    ),
    "django-5.2": (
        ROOT / "requirements" / "constraints-django52.txt",
        "redis,tasks,celery-beat,flower",
        True,
    ),
}


@pytest.mark.packaging
@pytest.mark.parametrize("django", DJANGOS)
def test_the_wheel_installs_into_a_new_venv_and_serves_a_django_project(tmp_path, django):
    constraints, extras, with_celery_beat = DJANGOS[django]
    src = source_tree(tmp_path / "src")
    dist = tmp_path / "dist"
    # No --sdist/--wheel: build makes the sdist, then the wheel from the sdist, so the wheel
    # shows that the sdist is complete too.
    output = run(sys.executable, "-m", "build", "--outdir", dist, src, cwd=tmp_path)
    assert not [line for line in output.splitlines() if any(w in line for w in BUILD_WARNINGS)]
    wheel = dist / f"future_celery-{VERSION}-py3-none-any.whl"
    sdist = dist / f"future_celery-{VERSION}.tar.gz"
    assert set(dist.iterdir()) == {sdist, wheel}

    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        mo = "future_celery/locale/de/LC_MESSAGES/django.mo"
        assert archive.read(mo) == (ROOT / mo).read_bytes()
        info = f"future_celery-{VERSION}.dist-info"
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
        metadata = email.message_from_bytes(archive.read(f"{info}/METADATA"))
    assert package_files() <= names, sorted(package_files() - names)
    strays = [n for n in names if not n.startswith(("future_celery/", f"{info}/"))]
    assert not strays, strays  # no tests/, proj/, bench/, manage.py
    assert not [n for n in names if n.endswith(".pyc")]
    assert any(n.startswith("future_celery/migrations/0001_") for n in names)
    assert "[celery.beat_schedulers]\nfuture_celery = future_celery.beat:DatabaseScheduler" in (
        entry_points
    )
    assert metadata["Version"] == VERSION
    assert set(metadata.get_all("Provides-Extra")) == {
        "redis",
        "postgres",
        "mysql",
        "tasks",
        "celery-beat",
        "flower",
    }
    requires = [r for r in metadata.get_all("Requires-Dist") if "extra ==" not in r]
    required = {re.match(r"[\w.-]+", r)[0] for r in requires}
    assert required == {"Django", "celery", "kombu"}, requires
    assert "Django<6.2,>=5.2" in requires, requires

    with tarfile.open(sdist) as archive:
        top = f"future_celery-{VERSION}/"
        in_sdist = {n.removeprefix(top) for n in archive.getnames()}
    assert package_files() | {"setup.py", "pyproject.toml", "README.md", "CHANGELOG.md"} <= in_sdist
    assert not [n for n in in_sdist if n.startswith(("tests/", "proj/", "bench/", ".venv"))]

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    env = clean_env(venv)
    install = ("install", "-q", "-c", constraints, f"{wheel}[{extras}]")
    run(python, "-m", "pip", *install, cwd=tmp_path, env=env)

    site = tmp_path / "site"
    site.mkdir()
    (site / "settings.py").write_text(SETTINGS.replace("{with_celery_beat}", str(with_celery_beat)))
    (site / "urls.py").write_text(URLS)
    (site / "manage.py").write_text(MANAGE)
    (site / "sitecelery.py").write_text(SITE_CELERY)
    env["DJANGO_SETTINGS_MODULE"] = "settings"

    where = run(
        python,
        "-c",
        "import future_celery; print(future_celery.__file__, future_celery.__version__)",
        cwd=site,
        env=env,
    ).split()
    assert Path(where[0]).is_relative_to(venv) and where[1] == VERSION, where
    # SQLite and Redis: psycopg is the [postgres] extra's, and nothing here needs it.
    probe = subprocess.run([python, "-c", "import psycopg"], cwd=site, env=env, capture_output=True)
    assert probe.returncode != 0
    imported = run(python, "-c", IMPORT_ALL_WITHOUT_DRIVERS, cwd=site, env=env)
    assert int(imported) > 40, imported

    run(python, "manage.py", "check", "--fail-level", "WARNING", cwd=site, env=env)
    run(python, "manage.py", "migrate", "--no-input", cwd=site, env=env)
    # The installed models and migrations agree.
    run(
        python,
        "manage.py",
        "makemigrations",
        "--check",
        "--dry-run",
        "future_celery",
        cwd=site,
        env=env,
    )

    beat = run(python, "-c", BEAT_SCHEDULER, cwd=site, env=env)
    assert beat.startswith("future_celery.beat ")
    assert beat.split()[1] == ("django-celery-beat" if with_celery_beat else "celery"), beat
    assert "future_celery: dispatch due jobs" in beat
    # The flower extra: `celery flower` of the venv serves, on the loopback interface, with
    # the login the README's Flower section gives it.
    flower_serves(venv, site, env, constraints)

    # The Django the constraints name is the one installed: pip did not move it to fit.
    pinned = re.search(r"^Django==(\S+)$", constraints.read_text(), re.M)[1]
    installed = run(python, "-c", "import django; print(django.__version__)", cwd=site, env=env)
    assert installed.strip() == pinned


@pytest.mark.packaging
def test_building_and_installing_from_a_checkout_leave_it_as_git_has_it(tmp_path):
    """`python -m build`, `pip install .` (as the Makefile's venvs install the tree) and
    `pip install -e .` write setuptools' build/ and *.egg-info into a temporary folder, not
    into the checkout: `git status --ignored` is the same before and after, and the
    temporary folder is gone."""
    src = source_tree(tmp_path / "src")
    run("git", "init", "-q", cwd=src)
    run("git", "add", "-A", cwd=src)
    before = run("git", "status", "--porcelain", "--ignored", cwd=src)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    env = dict(clean_env(venv), TMPDIR=str(scratch))
    python = venv / "bin" / "python"
    run(sys.executable, "-m", "build", "--outdir", tmp_path / "dist", src, cwd=tmp_path, env=env)
    run(python, "-m", "pip", "install", "-q", "--no-deps", ".", cwd=src, env=env)
    run(python, "-m", "pip", "install", "-q", "--no-deps", "-e", ".", cwd=src, env=env)
    after = run("git", "status", "--porcelain", "--ignored", cwd=src)
    assert after == before, after
    assert not [p for p in src.rglob("*") if p.name == "build" or p.name.endswith(".egg-info")]
    assert not list(scratch.glob("future_celery-build-*"))
    assert {p.name for p in (tmp_path / "dist").iterdir()} == {
        f"future_celery-{VERSION}.tar.gz",
        f"future_celery-{VERSION}-py3-none-any.whl",
    }


def flower_serves(venv: Path, site: Path, env: dict[str, str], constraints: Path) -> None:
    """`celery -A sitecelery flower` from the venv (the flower extra's, at the pinned
    version) starts on a free loopback port and answers: 401 without the login, 200 with it."""
    pinned = re.search(r"^flower==(\S+)$", constraints.read_text(), re.M)[1]
    version = run(
        venv / "bin" / "python", "-c", "import flower; print(flower.__version__)", cwd=site, env=env
    )
    assert version.strip() == pinned
    url = f"http://127.0.0.1:{free_port()}"
    command = [
        venv / "bin" / "celery",
        "-A",
        "sitecelery",
        "flower",
        "--address=127.0.0.1",
        f"--port={url.rsplit(':', 1)[1]}",
        "--basic-auth=admin:packaging-test",
    ]
    flower = Process("packaging-flower", [str(part) for part in command], env, cwd=site)
    try:
        flower.wait_for_output("Visit me at")
        assert status(url + "/") == 401
        assert status(url + "/", "admin:packaging-test") == 200
    finally:
        flower.stop()


def status(url: str, login: str | None = None) -> int:
    request = urllib.request.Request(url)
    if login is not None:
        request.add_header("Authorization", f"Basic {base64.b64encode(login.encode()).decode()}")
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
