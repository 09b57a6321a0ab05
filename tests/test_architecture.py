"""The structure holds: the import contracts, short functions, and code that explains itself."""
from __future__ import annotations

import ast
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LONGEST = 60  # lines of a function outside the codec definitions


def _functions(folder: Path):
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield path.relative_to(ROOT), node.name, node.end_lineno - node.lineno + 1


def test_functions_are_short():
    long = [(str(p), name, n) for p, name, n in _functions(ROOT / "search") if n > LONGEST]
    assert not long, f"functions over {LONGEST} lines: {long}"


def test_no_reference_outside_the_repository():
    """No project issue numbers or documents users do not have (a public repository's issue, written
    ``owner/repo issue #N``, is a citation like any other)."""
    pattern = re.compile(r"\bissues? #?\d+\b|(?-i:DESIGN\.md)|decoders\.md|\.\./shared|/work/|seed file",
                         re.IGNORECASE)
    public = re.compile(r"[\w.-]+/[\w.-]+ issues? #?\d+", re.IGNORECASE)
    files = [p for folder in ("search", "codecs", "bench", "tests", "spaces", "docs")
             for pattern in ("*.py", "*.yaml", "*.md") for p in sorted((ROOT / folder).rglob(pattern))]
    files.append(ROOT / "README.md")
    found = [f"{p.relative_to(ROOT)}:{i}" for p in files if p.name != "test_architecture.py"
             for i, line in enumerate(p.read_text().splitlines(), 1)
             if pattern.search(line) and not public.search(line)]
    assert not found, found


@pytest.mark.skipif(shutil.which("lint-imports") is None, reason="import-linter not installed")
def test_import_contracts_are_kept():
    done = subprocess.run(["lint-imports"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "0 broken" in done.stdout


def test_no_import_cycle_lazy_imports_included():
    """Every ``import`` anywhere in a module counts, a lazy one inside a function too
    (``bench/structure.py`` prints the same figures)."""
    import sys

    sys.path.insert(0, str(ROOT / "bench"))
    from structure import cycles, import_graph

    found = cycles(import_graph(ROOT))
    assert not found, found


def test_no_library_file_over_300_lines():
    """One concern per module: no file of the library over 300 lines, with no exception."""
    long = {str(p.relative_to(ROOT)): n for p in (ROOT / "search").rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 300}
    assert not long, long
