from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def requirements(name):
    """install_requires from requirements/<name>.txt (comments and -r lines left out)."""
    lines = (HERE / "requirements" / name).read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith(("#", "-"))]


setup(
    name="future_celery",
    version="0.1.0",
    description="Schedule callables to run at a given time on Celery, managed in the Django admin "
                "(the django-future API on Celery).",
    long_description=(HERE / "README.md").read_text(),
    long_description_content_type="text/markdown",
    license="BSD-3-Clause",
    packages=find_packages(include=["future_celery", "future_celery.*"]),
    include_package_data=True,
    package_data={"future_celery": [
        "locale/*/LC_MESSAGES/*.po", "locale/*/LC_MESSAGES/*.mo",
        "templates/**/*", "static/**/*",
    ]},
    python_requires=">=3.11",
    install_requires=requirements("base.txt"),
    classifiers=[
        "Framework :: Django",
        "Framework :: Django :: 6.0",
        "Framework :: Celery",
        "Programming Language :: Python :: 3.12",
    ],
)
