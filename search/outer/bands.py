"""Trials go where the targets are: each target's band, and moving a sampled layout into one.

A target's band is ``[(1 - tolerance) * target, target]`` in the search's cost, GMACs or ms (lower
where the option grid cannot come that close: down to the supernet level's landed cost). A sampler proposes layouts anywhere in
the space, mostly far from every band; each proposal outside all bands is moved into the band of one
target (in turn) with the fewest option changes: the exact landing of :mod:`search.stage2.landing`
with a score of 0 for the proposed option of each choice and -1 (and a little more per index step)
for the others.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from ..complexity import Cost
from ..stage2 import land


@dataclass(frozen=True)
class Band:
    target: float
    low: float

    def holds(self, value: float) -> bool:
        return self.low <= value <= self.target


def bands_of(targets: Sequence[float], tolerance: float,
             landed: Mapping[float, float] | None = None) -> list[Band]:
    """The band of each target; ``landed``: the supernet levels' landed costs, for targets the grid
    misses."""
    landed = landed or {}
    return [Band(t, min((1 - tolerance) * t, landed.get(t, float("inf")))) for t in targets]


class BandProjector:
    """Moves layouts (option indices per choice group) into target bands."""

    def __init__(self, cost: Cost, bands: Sequence[Band], tolerance: float):
        self.cost, self.bands, self.tolerance = cost, list(bands), tolerance

    def value(self, choice: Sequence[int]) -> float:
        return float(self.cost.of_choices(np.array([list(choice)]))[0])

    def inside(self, choice: Sequence[int]) -> bool:
        value = self.value(choice)
        return any(band.holds(value) for band in self.bands)

    def project(self, choice: Sequence[int], band: Band) -> list[int]:
        """The layout of ``band`` with the fewest changes from ``choice``."""
        scores = [np.array([0.0 if o == p else -1.0 - 0.01 * abs(o - p) for o in range(size)])
                  for p, size in zip(choice, self.cost.space.group_sizes)]
        return land(self.cost, scores, band.target, self.tolerance).choice
