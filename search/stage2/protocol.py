"""The selector contract: what a stage-2 selector is (a name, its checks, its training) and what its
training leaves (the levels, the codec at a level, the weights to export).

A selector is registered by name (:mod:`search.stage2.registry`); the supernet job and the main job
use only this contract, never a selector's own classes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Protocol, Sequence

import torch

from ..codec import Codec
from ..config import Config
from ..space import Space
from .levels import LevelResult


class Stage2Net(Protocol):
    """What a selector's training leaves (on the CPU)."""

    #: the full-width codec holding the trained weights
    codec: Codec

    def levels(self, tolerance: float, interpolate: Sequence[float] = ()) -> list[LevelResult]:
        """Each target's level, landed on it (and each interpolated target, where the selector can)."""

    def level_codec(self, level: LevelResult | None) -> Codec:
        """The codec at a level's layout holding its weights (None: the original, full decoder)."""

    def export_weights(self, index: int) -> tuple[Codec, Mapping[str, torch.Tensor] | None] | None:
        """Level ``index``'s weights to export with its layout: a full-width codec and per layer the
        channels it keeps (None: the leading ones), or None when the level's weights are the shared
        weights' leading channels (the layout alone describes them)."""

    def to(self, device: torch.device | str) -> "Stage2Net":
        """Every module on ``device``."""


#: ``train(space, cost, stage1_weights, targets, clips, cfg, out, seed=, meta=, runtime=,
#: extend=)``: stage 2 from the stage-1 weights in ``out`` (resumed, or loaded once finished)
Train = Callable[..., Stage2Net]


@dataclass(frozen=True)
class Selector:
    """A stage-2 selector: how it is named and described, what it checks before any training (its
    configuration section's values, then whether the space and targets allow it), and its training.

    ``shares_weights``: any layout of the space runs with the trained weights (the full codec masked
    to it), so the outer search may score layouts the selector never landed on."""

    name: str
    description: str
    train: Train
    check_settings: Callable[[Config], None]
    check_space: Callable[[Config, Space, Sequence[float]], None]
    shares_weights: bool


def no_check(*_: Any) -> None:
    """A selector with nothing to check."""
