"""No test module reads the clock when it is imported.

pytest imports every module while it collects, half an hour before the last test runs. A `TODAY`
read then is yesterday for a test that runs after midnight at the hospital: stop 23's CI started
at 23:40 in Shanghai, and six tests that compared the services' today with their import-time one
failed after 00:00. A test reads the clock when it runs.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

TESTS = Path(__file__).parent
CLOCKS = {"now", "today", "utcnow", "local_today", "hospital_today"}


def _run_at_import(tree: ast.Module) -> Iterator[ast.AST]:
    """The nodes Python evaluates when it imports the module: not the bodies of functions and
    lambdas, but their decorators and default values."""
    todo: list[ast.AST] = list(tree.body)
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            todo.extend([*node.decorator_list, *node.args.defaults, *(d for d in node.args.kw_defaults if d)])
        elif isinstance(node, ast.Lambda):
            todo.extend([*node.args.defaults, *(d for d in node.args.kw_defaults if d)])
        else:
            todo.extend(ast.iter_child_nodes(node))


def _clock_reads(path: Path) -> list[str]:
    """`line: call` of each clock read at import."""
    found = []
    for node in _run_at_import(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in CLOCKS:
                found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_test_module_reads_the_clock_when_imported() -> None:
    reads = [
        f"{path.relative_to(TESTS.parent)}:{read}"
        for path in sorted(TESTS.rglob("*.py"))
        for read in _clock_reads(path)
    ]
    assert reads == []


def test_the_check_sees_a_clock_read_at_import_but_not_in_a_function(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    module.write_text(
        "TODAY = local_today('Asia/Shanghai')\n"
        "class Desk:\n    at = datetime.now(UTC)\n"
        "def fine(when=date.today()):\n    return datetime.now(UTC)\n"
    )
    assert sorted(_clock_reads(module)) == [
        "1: local_today('Asia/Shanghai')",
        "3: datetime.now(UTC)",
        "4: date.today()",
    ]
