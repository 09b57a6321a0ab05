"""Complexity vectors: what the mode-selection module reads for a level, or for a target between two.

cgSlimDecoder conditions its mode selection on a one-hot vector over the ``N`` levels (supplementary,
section A), and this project serves a target between two levels by blending their one-hot vectors
linearly in GMACs. ELF-VC's level embedding (Rippel et al., ICCV 2021, Appendix E, Eq. 4-8;
:class:`search.nn.levels.LevelEmbedding`) puts the ``N`` levels in ``L_e`` dimensions, linear between
neighbouring one-hot vectors of that space: with ``L_e = N`` it is the one-hot blend exactly, with
``L_e < N`` neighbouring levels share dimensions, so what the module learns for one level also shapes
its neighbours and the points between them.

``embedding=onehot`` is the first, ``embedding=elfvc embedding_dims=E`` the second
(:class:`SupernetConfig`). Either way a target between levels ``i`` and ``i + 1`` (targets descending,
level 1 the highest) sits at the fraction ``(C_i - t) / (C_i - C_{i+1})`` of the way from ``i`` to
``i + 1``.
"""
from __future__ import annotations

from typing import Sequence

import torch

from ...config import embedding_dims
from ...errors import BadInput
from ...nn.levels import LevelEmbedding


class ComplexityEmbedding:
    """The complexity vectors of the levels of ``targets`` (GMACs, highest first) and of the targets
    between them, under ``kind`` (``onehot`` or ``elfvc``) in ``dims`` dimensions (0: one per level)."""

    def __init__(self, targets: Sequence[float], kind: str = "onehot", dims: int = 0):
        self.targets, self.kind = [float(t) for t in targets], kind
        self.dims = embedding_dims(kind, dims, len(self.targets))
        self.embedding = LevelEmbedding(len(self.targets), self.dims)

    def level(self, index: int) -> torch.Tensor:
        """Level ``index`` (0 for level 1, the highest target)."""
        return self.embedding.vector(index)

    def target(self, target: float) -> torch.Tensor:
        """A target between the two levels that bracket it, placed linearly in GMACs."""
        targets = self.targets
        if not targets[-1] <= target <= targets[0]:
            raise BadInput(f"interpolate={target:g} is not between the trained levels "
                           f"[{targets[-1]:g}, {targets[0]:g}]")
        for i in range(len(targets) - 1):
            hi, lo = targets[i], targets[i + 1]
            if lo <= target <= hi:
                return self.embedding.between(i, (target - lo) / (hi - lo))
        return self.level(0)
