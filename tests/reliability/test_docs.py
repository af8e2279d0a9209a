"""docs/reliability.md names a real test in every row."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "reliability.md"
NODE = re.compile(r"`(tests/[\w/]+\.py)::([\w:]+)`")


def _rows() -> list[str]:
    return [line for line in DOC.read_text().splitlines() if line.startswith("| ") and "---" not in line]


def _defined(path: Path, names: list[str]) -> bool:
    scope = ast.parse(path.read_text()).body
    for name in names:
        found = next(
            (n for n in scope if isinstance(n, ast.ClassDef | ast.FunctionDef) and n.name == name), None
        )
        if found is None:
            return False
        scope = found.body if isinstance(found, ast.ClassDef) else []
    return True


def test_every_row_names_a_test_that_exists():
    rows = [row for row in _rows() if not row.startswith(("| fault ", "| attack "))]
    assert len(rows) >= 20
    for row in rows:
        nodes = NODE.findall(row)
        assert nodes, f"no test named in: {row}"
        for path, names in nodes:
            assert _defined(ROOT / path, names.split("::")), f"{path}::{names} does not exist"


def node_ids() -> list[str]:
    """Every test the table cites (for running them all: pytest $(python -c ...))."""
    return [f"{path}::{names}" for path, names in NODE.findall(DOC.read_text())]
