"""The mode-selection module of cgSlimDecoder and the differentiable complexity of its choices.

The module maps a complexity vector (one-hot over the N levels, or ELF-VC's level embedding of them:
:mod:`search.stage2.gumbel.embedding`; any non-negative vector summing to 1) through a small network to
logits over the width options of every choice (tied layers share one choice). Widths are sampled with
Gumbel-softmax and the straight-through trick (:mod:`search.stage2.gumbel.sampling`).

The sampled layout's complexity ``C_i`` (Eq. 2-3 of the supplementary: GMACs, or the predicted decode
time under ``objective=latency``) is the cost's quadratic form over the one-hot choice vectors ``a``:
``C = [a, 1]^T P [a, 1]`` (:class:`search.complexity.Cost`). With the straight-through ``a`` the
forward value is exactly the sampled layout's cost, and gradients flow through the relaxation.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ...complexity import Cost
from ...errors import BadInput
from ...space import Space
from .sampling import gumbel_softmax_st


def complexity_vector(levels: int, level: int | None = None, weights: Sequence[float] | None = None
                      ) -> torch.Tensor:
    """One-hot for ``level``, or ``weights`` checked: length N, non-negative, summing to 1."""
    if weights is None:
        vector = torch.zeros(levels)
        vector[level] = 1.0
        return vector
    vector = torch.as_tensor(list(weights), dtype=torch.float32)
    if vector.numel() != levels:
        raise BadInput(f"complexity vector has {vector.numel()} entries; the supernet has {levels} levels")
    if (vector < 0).any() or abs(float(vector.sum()) - 1) > 1e-5:
        raise BadInput(f"complexity vector {vector.tolist()} must be non-negative and sum to 1")
    return vector


class ModeSelection(nn.Module):
    """Complexity vector -> logits over the options of each choice (a two-layer MLP). ``levels`` is
    the vector's size: the number of levels, or the dimensions of their embedding."""

    def __init__(self, levels: int, group_sizes: Sequence[int], hidden: int = 64):
        super().__init__()
        self.levels, self.group_sizes = levels, list(group_sizes)
        self.net = nn.Sequential(nn.Linear(levels, hidden), nn.ReLU(),
                                 nn.Linear(hidden, sum(self.group_sizes)))
        nn.init.normal_(self.net[2].weight, std=1e-3)  # start uniform: widths picked at random
        nn.init.zeros_(self.net[2].bias)

    def forward(self, vector: torch.Tensor) -> list[torch.Tensor]:
        vector = vector.to(self.net[0].weight.device)  # complexity vectors are built on the CPU
        return list(torch.split(self.net(vector), self.group_sizes, dim=-1))

    @torch.no_grad()
    def scores(self, vector: torch.Tensor) -> list[np.ndarray]:
        """Log-probabilities of each choice's options (landing maximises their sum)."""
        return [F.log_softmax(logits, -1).cpu().numpy() for logits in self(vector)]

    @torch.no_grad()
    def argmax(self, vector: torch.Tensor) -> list[int]:
        return [int(logits.argmax()) for logits in self(vector)]


class SampledComplexity(nn.Module):
    """The cost (GMACs, or ms) of one-hot (or relaxed) choice vectors through its quadratic form, in
    float64."""

    def __init__(self, cost: Cost):
        super().__init__()
        self.register_buffer("p", torch.as_tensor(cost.unit_q, dtype=torch.float64),
                             persistent=False)

    def forward(self, choices: Sequence[torch.Tensor]) -> torch.Tensor:
        x = torch.cat([c.to(torch.float64) for c in choices] + [self.p.new_ones(1)])
        return x @ self.p @ x


def choices_for_codec(space: Space, samples: Sequence[torch.Tensor]) -> dict:
    """Per layer key: (mixing weights over its options, the options), for ``Codec.set_choices``."""
    out = {}
    for group, weights in zip(space.groups, samples):
        for key in group:
            out[key] = (weights, space.layers[key].options)
    return out


def sample(mode_selection: ModeSelection, vector: torch.Tensor, tau: float,
           generator: torch.Generator | None = None, noise: bool = True) -> list[torch.Tensor]:
    return [gumbel_softmax_st(logits, tau, generator, noise) for logits in mode_selection(vector)]
