"""The selector contract: a selector written in tests/ (tests/stage2_selectors/uniform.py) runs the supernet
job once registered, with no library file touched; and what the built-in selectors touch outside
their own package."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

from search.space import load_space
from search.stage2 import SELECTORS, register_selector, selector_named
from search.stage2.protocol import Selector, no_check

from stage2_selectors import uniform

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def registered():
    register_selector(uniform.SELECTOR)
    yield uniform.SELECTOR
    SELECTORS.pop(uniform.SELECTOR.name)


def test_a_registered_selector_runs_the_supernet_job(registered, tmp_path, capsys):
    from search.commands.supernet import main

    space = load_space("dvc")
    torch.manual_seed(0)
    weights = tmp_path / "stage1.pt"
    torch.save(space.codec(None).state_dict(), weights)
    out = tmp_path / "run"
    assert main(["space=dvc", "target_gmacs=[300,150]", f"checkpoint={weights}", "selector=uniform",
                 "batch=1", "crop=64", "eval_gops=0", "steps=1", "checkpoint_every=1", f"out={out}"]) == 0
    assert (out / "checkpoints" / "step_00000001.pt").is_file()
    levels = json.loads((out / "summary.json").read_text())["levels"]
    assert [lvl["target_gmacs"] for lvl in levels] == [300, 150]
    assert all(-0.005 <= lvl["landed_distance"] <= 0 for lvl in levels)  # within 0.5% below
    assert (out / "layouts" / "level_2.yaml").is_file()


def test_unknown_and_taken_names(registered):
    with pytest.raises(Exception, match="selector='lasso'.*uniform"):
        selector_named("lasso")
    with pytest.raises(ValueError, match="already registered"):
        register_selector(Selector("uniform", "another", uniform.train_uniform, no_check, no_check, True))


def _touched(name_pattern: str, package: str) -> list[str]:
    """Library files outside ``search/stage2/<package>/`` whose code (docstrings, comments and messages
    left out) names the selector; the stage-2 package's ``__init__``, which re-exports its public
    names, is not counted."""
    pattern = re.compile(name_pattern)
    own = ROOT / "search" / "stage2" / package
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / "search").rglob("*.py")
                  if own not in p.parents and p != ROOT / "search" / "stage2" / "__init__.py"
                  and pattern.search(_code(p)))


def test_gumbel_touches_three_files_outside_its_package():
    """The registry, its configuration section and its flat keys: its checks are its own."""
    assert _touched(r"\bgumbel\b|Gumbel|GUMBEL", "gumbel") == [
        "search/config/keysets.py", "search/config/schema.py", "search/stage2/registry.py"]


def test_mask_decay_touches_four_files_outside_its_package():
    """As gumbel, and its preset-dependent default rate (the quick and paper presets' own values)."""
    assert _touched(r"\bmask_decay\b|MaskDecay|MASK_DECAY", "mask_decay") == [
        "search/config/keysets.py", "search/config/presets.py", "search/config/schema.py",
        "search/stage2/registry.py"]


def _code(path: Path) -> str:
    """A module's code without its strings and comments (what it does, not what it mentions)."""
    import ast

    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            node.value = ""
    return ast.unparse(tree)
