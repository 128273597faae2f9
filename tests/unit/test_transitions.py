"""Every write of a job's status is in future_celery.lifecycle, and each transition it lists
(TRANSITIONS) is the one its function says. (That the database sees exactly these: see
tests/integration/test_transitions.py.)"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from future_celery import lifecycle

PACKAGE = Path(lifecycle.__file__).parent
WRITERS = {"update", "create", "bulk_create", "bulk_update", "update_or_create", "get_or_create"}
DECLARATION = re.compile(r"(\w+(?: or \w+)*) → (\w+(?: or \w+)*)")
SQL_SET_STATUS = re.compile(r"\bSET\b.*\bstatus\s*=", re.IGNORECASE | re.DOTALL)


def status_writes(tree: ast.AST) -> list[int]:
    """The lines of ``tree`` that write a status: an ORM write with a status keyword, an
    assignment to an attribute named status, or SQL that sets it."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in WRITERS and any(kw.arg == "status" for kw in node.keywords):
                lines.append(node.lineno)
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for part in ast.walk(target):
                    if isinstance(part, ast.Attribute) and part.attr == "status":
                        lines.append(node.lineno)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if SQL_SET_STATUS.search(node.value):
                lines.append(node.lineno)
    return lines


def test_no_module_but_lifecycle_writes_a_status():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts or path.name == "lifecycle.py":
            continue
        tree = ast.parse(path.read_text(), str(path))
        found += [f"{path.relative_to(PACKAGE.parent)}:{line}" for line in status_writes(tree)]
    assert not found, f"status written outside future_celery.lifecycle: {found}"


def test_the_check_finds_each_kind_of_status_write():
    code = (
        "Job.objects.filter(pk=1).update(status='failed')\n"
        "job.status = 'complete'\n"
        "cursor.execute('UPDATE t SET error = %s, status = %s')\n"
        "Job.objects.filter(status='queued').count()\n"  # a read: not a write
    )
    assert sorted(status_writes(ast.parse(code))) == [1, 2, 3]


def declared(function) -> set[tuple[str, str]]:
    """The transitions a lifecycle function's docstring names on its first line, as
    'scheduled or queued → running: ...'."""
    match = DECLARATION.match(function.__doc__)
    assert match, f"{function.__name__}'s docstring does not start with 'from → to'"
    sources, targets = match.groups()
    return {
        (source, target) for source in sources.split(" or ") for target in targets.split(" or ")
    }


def test_each_listed_transition_is_the_one_its_function_says():
    by_function: dict[str, set[tuple[str, str]]] = {}
    for transition in lifecycle.TRANSITIONS:
        by_function.setdefault(transition.by, set()).add((transition.source, transition.target))
    for name, pairs in by_function.items():
        function = getattr(lifecycle, name)
        assert declared(function) == pairs, name


def test_every_status_of_the_model_is_reached_or_left_by_some_transition():
    statuses = {value for value, _ in lifecycle.Job.STATUS_CHOICES}
    touched = {t.source for t in lifecycle.TRANSITIONS} | {t.target for t in lifecycle.TRANSITIONS}
    assert touched == statuses
