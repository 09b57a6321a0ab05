"""What a search minimises a decoder's cost in: the contract the GMAC closed form and the decode-time
table both keep.

Stage 2's complexity-guided penalty, the exact landing, the outer loop's bands and its constraint only
ever see a cost through this interface: a quadratic form over the one-hot option indicators of the
space's choice groups (one block per group, then a constant 1), in the cost's unit. GMACs are such a
form exactly (:class:`search.complexity.Complexity`); a decode-time lookup table of per-layer cells
is one too, since each layer's time depends on at most the two choices that set its input and output
widths (:mod:`search.timing`).
"""
from __future__ import annotations

from typing import Mapping, Protocol, runtime_checkable

import numpy as np

from ..space import Space


@runtime_checkable
class Cost(Protocol):
    """A decoder's cost as a quadratic form over one-hot option indicators.

    ``name`` keys it in results and summaries (``gmacs``, ``ms``); ``unit`` labels it in reports;
    ``unit_q`` is the symmetric form over ``[indicators..., 1]`` and ``offsets`` where each group's
    block starts."""

    name: str
    unit: str
    space: Space
    offsets: np.ndarray

    @property
    def unit_q(self) -> np.ndarray: ...

    def of_choices(self, choices: np.ndarray) -> np.ndarray: ...

    def of_layout(self, layout: Mapping[str, int]) -> float: ...

    def range(self) -> tuple[float, float]: ...
