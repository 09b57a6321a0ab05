"""Mask decay's rule (EVC, Eq. 1-3): before each of the first steps, the channels of lowest importance
beyond each level's target width decay as weight decay, decoupled from the loss::

    dL_sparse/dm = |m - 1|                                   (1)
    m <- m - eta |m - 1|    (then - gamma dL_RD/dm by Adam)   (3)

then every layer is pruned to exactly its target width.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ...config.schema import MaskDecayConfig
from .masks import ChannelMasks


@dataclass(frozen=True)
class DecaySchedule:
    """Eq. 3's decay at ``rate`` per step for the first ``decay_steps`` steps, then the prune."""

    rate: float
    decay_steps: int

    @classmethod
    def of(cls, cfg: MaskDecayConfig, steps: int) -> "DecaySchedule":
        return cls(float(cfg.rate), max(1, math.ceil(cfg.fraction * steps)))


class MaskDecay:
    """Before step ``step``: decay (Eq. 3) the lowest-importance channels of every level, or, at the
    end of the decay, prune every layer to exactly its target width."""

    def __init__(self, masks: ChannelMasks, schedule: DecaySchedule):
        self.masks, self.schedule = masks, schedule

    @torch.no_grad()
    def __call__(self, step: int) -> None:
        masks = self.masks
        if bool(masks.pruned):
            return
        if step >= self.schedule.decay_steps:
            self.prune()
            return
        for g, values in enumerate(masks.values):
            values.clamp_(min=0)  # Eq. 1 holds for m >= 0
            for level in range(masks.levels):
                surplus = values.shape[1] - masks.widths[level][g]
                if surplus <= 0:
                    continue
                order = torch.argsort(masks.importance(level, g), stable=True)[:surplus]
                m = values[level, order]
                values[level, order] = (m - self.schedule.rate * (m - 1).abs()).clamp(min=0)

    @torch.no_grad()
    def prune(self) -> None:
        """Every level's layers to exactly their target widths: the others' masks are 0 for good."""
        masks = self.masks
        for level in range(masks.levels):
            kept = masks.kept(level)
            for g, keys in enumerate(masks.groups):
                alive = torch.zeros_like(masks.alive(g)[level])
                alive[kept[keys[0]].to(alive.device)] = 1
                masks.alive(g)[level].copy_(alive)
                masks.values[g][level].mul_(alive)
        masks.pruned.fill_(True)
