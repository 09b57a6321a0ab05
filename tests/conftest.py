"""Shared test helpers: random layouts of a space, and the reference fixtures."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

FIXTURES = Path(__file__).parent / "fixtures"


def pytest_collection_modifyitems(config, items):
    """Tests marked ``cuda`` run only where torch sees a GPU."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU; torch sees none here")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


def random_layouts(space, count: int, seed: int = 0) -> list[dict[str, int]]:
    """``count`` random layouts of ``space`` (ties respected), the first being the full one."""
    rng = np.random.default_rng(seed)
    choices = space.random_choices(count, rng)
    choices[0] = 0
    return [space.layout_of(c) for c in choices]


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES


def load_fixture(name: str):
    return yaml.safe_load((FIXTURES / name).read_text())


def assert_same_coding(a: dict, b: dict, atol: float = 1e-5) -> None:
    """Two ``forward`` outputs agree: reconstruction and every likelihood."""
    assert torch.allclose(a["x_hat"], b["x_hat"], atol=atol), (a["x_hat"] - b["x_hat"]).abs().max()
    assert a["likelihoods"].keys() == b["likelihoods"].keys()
    for part, named in b["likelihoods"].items():
        for name, lb in named.items():
            la = a["likelihoods"][part][name]
            assert torch.allclose(la, lb, atol=atol), (part, name, (la - lb).abs().max())


def sliced_and_masked(small, full, layout, ref, x) -> tuple[dict, dict]:
    """``forward`` of the sliced model and of the full model masked to the same layout (no grad)."""
    with torch.no_grad():
        sliced = small(ref, x)
        with full.at_layout(layout):
            masked = full(ref, x)
    return sliced, masked


@pytest.fixture(scope="session")
def golden_run(tmp_path_factory) -> Path:
    """The tiny fixed-seed main job of ``tests/golden.py``, run once per session (its folder)."""
    from golden import run_main_job

    out = tmp_path_factory.mktemp("golden") / "run"
    run_main_job(out)
    return out
