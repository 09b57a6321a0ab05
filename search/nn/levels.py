"""ELF-VC's level embedding (Rippel et al., "ELF-VC: Efficient Learned Flexible-Rate Video Coding",
ICCV 2021, Appendix E, Eq. 4-8): ``L`` discrete levels as vectors of an ``L_e``-dimensional space,
linear between neighbouring one-hot vectors, and the one-hot vectors themselves when ``L_e = L``.

For a level ``l`` in ``[0, L - 1]`` (a real number gives a point between levels)::

    s = l (L_e - 1) / (L - 1)                                   (4)
    u = floor(s),  v = u + 1                                    (5)
    d_u = s - u,   d_v = v - s                                  (6)
    alpha = d_v / (d_u + d_v),  beta = 1 - alpha                (7)
    e(l) = alpha onehot(u | L_e) + beta onehot(v | L_e)         (8)

with ``onehot(a | b)`` the zero vector when ``a`` is outside ``[0, b)``. ELF-VC feeds it to its codec
as the level map; cgSlimDecoder's mode selection can take it as its complexity vector
(:mod:`search.stage2.gumbel.embedding`).
"""
from __future__ import annotations

import math

import torch


def blend(index: int, weight: float, dims: int) -> torch.Tensor:
    """``weight * onehot(index) + (1 - weight) * onehot(index + 1)`` in ``dims`` dimensions (Eq. 8,
    float32); an index outside ``[0, dims)`` contributes nothing."""
    vector = torch.zeros(dims)
    if 0 <= index < dims:
        vector[index] = weight
    if 0 <= index + 1 < dims:
        vector[index + 1] = 1 - weight
    return vector


class LevelEmbedding:
    """``levels`` levels in ``dims`` dimensions (Eq. 4-8)."""

    def __init__(self, levels: int, dims: int):
        if levels < 1 or dims < 1:
            raise ValueError(f"a level embedding needs at least one level and one dimension; got "
                             f"{levels} levels in {dims} dimensions")
        self.levels, self.dims = int(levels), int(dims)
        self.scale = (self.dims - 1) / (self.levels - 1) if self.levels > 1 else 0.0

    def vector(self, level: float) -> torch.Tensor:
        """The embedding of ``level`` (an integer level, or a real number between two)."""
        if not 0 <= level <= self.levels - 1:
            raise ValueError(f"level {level} is outside [0, {self.levels - 1}]")
        s = level * self.scale                                   # (4)
        u = math.floor(s)                                        # (5)
        d_u, d_v = s - u, (u + 1) - s                            # (6)
        alpha = d_v / (d_u + d_v)                                # (7)
        return blend(u, alpha, self.dims)                        # (8)

    def between(self, index: int, weight: float) -> torch.Tensor:
        """The point between levels ``index`` and ``index + 1`` that gives ``weight`` to ``index``.

        When ``dims == levels`` the position needs no rescaling (Eq. 4 with a factor of 1): the result is
        exactly ``blend(index, weight)``, the two one-hot vectors mixed, computed without the rounding
        that going through the level ``index + 1 - weight`` would add."""
        if not 0 <= weight <= 1:
            raise ValueError(f"weight {weight} is outside [0, 1]")
        if self.dims == self.levels:
            return blend(index, weight, self.dims)
        return self.vector(min(index + (1 - weight), self.levels - 1))
