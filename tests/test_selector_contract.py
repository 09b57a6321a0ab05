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


def test_a_built_in_selector_touches_at_most_four_files_outside_its_package():
    """mask_decay outside search/stage2/mask_decay/: the registry, its configuration section, its flat
    keys, and its preset-dependent default rate (a selector with no such default: three)."""
    pattern = re.compile(r"\bmask_decay\b|MaskDecay|MASK_DECAY")
    own = ROOT / "search" / "stage2" / "mask_decay"
    touched = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "search").rglob("*.py")
                     if own not in p.parents and pattern.search(_code(p)))
    assert touched == ["search/config/keysets.py", "search/config/presets.py", "search/config/schema.py",
                       "search/stage2/registry.py"], touched


def _code(path: Path) -> str:
    """A module's text without its docstrings and comments (what it does, not what it mentions)."""
    import ast

    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            body[0].value.value = ""
    return ast.unparse(tree)
