"""Docs that cannot drift: the codec lists and the command table are checked against the registries
(the codec files, the command modules, the import contracts)."""
from __future__ import annotations

import configparser
import re
from pathlib import Path

from search.codec import available_codecs, load_codec

ROOT = Path(__file__).resolve().parent.parent


def _words(text: str) -> set[str]:
    """Case-folded words of ``text`` with hyphens dropped (ELF-VC and ELFVC are one name)."""
    return set(re.findall(r"[a-z0-9]+", text.replace("-", "").lower()))


def _codec_names() -> dict[str, str]:
    """Codec file name -> its class's name, for every registered codec."""
    return {name: load_codec(name).__name__ for name in available_codecs()}


def _first_paragraph(path: Path) -> str:
    text = path.read_text()
    return text.split("\n\n")[1] if path.suffix == ".md" else text.split('"""')[1]


def test_the_codecs_are_listed_in_one_place_and_in_full():
    """The README's first paragraph names every codec and its codecs/ row every codec file; the
    design page's job and the package docstring name none (they point to the list)."""
    names = {cls.lower() for cls in _codec_names().values()}
    intro = _words(_first_paragraph(ROOT / "README.md"))
    assert names <= intro, f"README's first paragraph does not name {sorted(names - intro)}"
    job = (ROOT / "docs" / "design.md").read_text().split("## The job")[1][:400]
    for place, text in {"docs/design.md": job,
                        "search/__init__.py": _first_paragraph(ROOT / "search" / "__init__.py")}.items():
        listed = sorted(names & _words(text))
        assert not listed, f"{place} lists codecs ({listed}): point to the README's list"
    row = next(line for line in (ROOT / "README.md").read_text().splitlines()
               if line.startswith("| `codecs/`"))
    missing = [f"{name}.py" for name in _codec_names() if f"`{name}.py`" not in row]
    assert not missing, f"README's codecs/ row does not list {missing}"


def _command_modules() -> set[str]:
    """``search.<name>`` modules that run a command of ``search.commands``."""
    return {p.stem for p in (ROOT / "search").glob("*.py")
            if re.search(rf"^from search\.commands\.{p.stem} import main$", p.read_text(), re.M)}


def test_the_command_table_and_the_contracts_list_every_command():
    commands = _command_modules()
    assert {"run", "train", "eval", "profile", "report", "compare", "supernet"} <= commands
    readme = set(re.findall(r"^\| `python -m search\.(\w+)", (ROOT / "README.md").read_text(), re.M))
    assert readme == commands, f"README's command table: {sorted(readme)}; commands: {sorted(commands)}"
    contracts = configparser.ConfigParser()
    contracts.read(ROOT / "setup.cfg")
    top = contracts["importlinter:contract:layers"]["layers"].strip().splitlines()[0]
    assert {m.strip().removeprefix("search.") for m in top.split("|")} == commands
    independent = contracts["importlinter:contract:commands"]["modules"].split()
    assert {m.removeprefix("search.commands.") for m in independent} == commands
    assert "ignore_imports" not in contracts["importlinter:contract:layers"]


def _help_text(command: str) -> str:
    import contextlib
    import importlib
    import io

    import pytest

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), pytest.raises(SystemExit) as exit_:
        importlib.import_module(f"search.commands.{command}").main(["--help"])
    assert exit_.value.code == 0
    return printed.getvalue()


def test_every_command_taking_a_space_prints_where_each_codec_comes_from():
    """``--help`` of a command with ``space=`` names each registered codec with its paper, public code
    and commit (the codec's provenance, from its file)."""
    from search.codec.registry import provenance_line

    lines = {name: provenance_line(load_codec(name)) for name in available_codecs()}
    taking_space = [c for c in sorted(_command_modules()) if "space=" in _help_text(c)]
    assert {"run", "train", "supernet", "eval", "profile", "report"} <= set(taking_space)
    for command in taking_space:
        text = _help_text(command)
        missing = [name for name, line in lines.items() if line not in text]
        assert not missing, f"python -m search.{command} --help: no provenance of {missing}"
