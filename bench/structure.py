"""The structure's figures: import cycles between modules (lazy imports inside functions included),
the longest library files, and the codec tests written by hand.

    python bench/structure.py [root=.]

``root`` is a checkout of this repository (another commit's, to compare before and after). An import
cycle is a strongly connected group of ``search`` modules in the graph of every ``import`` statement
anywhere in a module (a package's ``__init__`` re-exporting its modules counts as importing them).
Hand-written codec tests: test functions named for one of the contract's invariants (sliced equals
masked, round trip) in the per-codec test files ``tests/test_codec_*.py`` and ``tests/test_whole_*.py``.
"""
from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

LIMIT = 300  # lines of a library file outside codecs/


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the ``search`` modules it imports, at any depth of its code."""
    files = {module_name(p, root): p for p in sorted((root / "search").rglob("*.py"))}
    graph: dict[str, set[str]] = {m: set() for m in files}
    for module, path in files.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(node, module, path.name == "__init__.py")
                targets = [f"{base}.{a.name}" for a in node.names] + [base]
            else:
                continue
            graph[module] |= {t for t in targets if t in files and t != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), skipping edges into a package's
    own ``__init__`` from inside it (a module importing its package's re-exports is not a cycle the
    package closes)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def edges(m: str):
        return [t for t in graph[m] if not m.startswith(t + ".")]

    def visit(m: str) -> None:
        index[m] = low[m] = len(index)
        stack.append(m)
        for t in edges(m):
            if t not in index:
                visit(t)
                low[m] = min(low[m], low[t])
            elif t in stack:
                low[m] = min(low[m], index[t])
        if low[m] == index[m]:
            group = []
            while True:
                t = stack.pop()
                group.append(t)
                if t == m:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for m in sorted(graph):
        if m not in index:
            visit(m)
    return sorted(found)


def longest_files(root: Path, limit: int = LIMIT) -> list[tuple[str, int]]:
    """Library files over ``limit`` lines (codec files aside), longest first."""
    sizes = [(str(p.relative_to(root)), len(p.read_text().splitlines()))
             for p in (root / "search").rglob("*.py")]
    return sorted([s for s in sizes if s[1] > limit], key=lambda s: -s[1])


def hand_written_codec_tests(root: Path) -> dict[str, int]:
    """Per-codec test functions named for a contract invariant."""
    names = {"sliced equals masked": re.compile(r"def (test_\w*(sliced|masked)\w*)"),
             "round trip": re.compile(r"def (test_\w*round_trip\w*)")}
    files = sorted((root / "tests").glob("test_codec_*.py")) + sorted((root / "tests").glob("test_whole_*.py"))
    files = [f for f in files if f.name != "test_codec_contract.py"]
    return {what: sum(len(pattern.findall(f.read_text())) for f in files) for what, pattern in names.items()}


def code_of(path: Path) -> str:
    """A module's code without its strings and comments: what it does, not what it mentions."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            node.value = ""
    return ast.unparse(tree)


def files_naming(root: Path, pattern: str, own: Path) -> list[str]:
    """Library files outside ``own`` (a file or a package) whose code names ``pattern``."""
    regex = re.compile(pattern)
    return sorted(str(p.relative_to(root)) for p in (root / "search").rglob("*.py")
                  if p != own and own not in p.parents and regex.search(code_of(p)))


def extension_points(root: Path) -> dict[str, list[str]]:
    """Per codec and per stage-2 selector: the library files besides its own that name it."""
    out = {f"codec {p.stem}": files_naming(root, rf"\b{p.stem}\b|\b{p.stem.upper()}", p)
           for p in sorted((root / "codecs").glob("*.py")) if p.stem != "__init__"}
    for package in sorted(d for d in (root / "search" / "stage2").iterdir() if (d / "__init__.py").is_file()):
        words = "".join(w.title() for w in package.name.split("_"))
        out[f"selector {package.name}"] = files_naming(
            root, rf"\b{package.name}\b|{words}|\b{package.name.upper()}", package)
    return out


def main(argv: list[str]) -> None:
    args = dict(a.split("=", 1) for a in argv)
    root = Path(args.get("root", Path(__file__).resolve().parent.parent)).resolve()
    found = cycles(import_graph(root))
    print(f"python bench/structure.py root={root}")
    print(f"import cycles (lazy imports included): {len(found)}")
    for group in found:
        print("  " + " <-> ".join(group))
    long = longest_files(root)
    print(f"library files over {LIMIT} lines outside codecs/: {len(long)}")
    for path, n in long:
        print(f"  {n:5d} {path}")
    sizes = sorted(((str(p.relative_to(root)), len(p.read_text().splitlines()))
                    for p in (root / "search").rglob("*.py") if "codecs" not in p.parts), key=lambda s: -s[1])
    print("longest library files outside codecs/: " + ", ".join(f"{path} {n}" for path, n in sizes[:5]))
    for name, files in extension_points(root).items():
        print(f"{name}: named by {len(files)} other library files" + (f" ({', '.join(files)})" if files else ""))
    for what, n in hand_written_codec_tests(root).items():
        print(f"hand-written per-codec tests of '{what}': {n}")


if __name__ == "__main__":
    main(sys.argv[1:])
