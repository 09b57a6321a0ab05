"""Shared test helpers: random layouts of a space, and the reference fixtures."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

FIXTURES = Path(__file__).parent / "fixtures"


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
