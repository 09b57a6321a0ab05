"""What mask decay leaves: the student, its masks and the levels landed on their targets; each level's
merged, pruned codec (Claim 1: the codec built at the level's layout, holding the kept channels of the
merged weights, gives the masked student's output)."""
from __future__ import annotations

from typing import Mapping, Sequence

import torch

from ...codec import Codec
from ...complexity import Cost
from ...errors import BadInput
from ...nn.layers import load_sliced
from ...space import Space
from ..landing import Landing
from ..levels import LevelResult
from .masks import ChannelMasks, MaskHooks, fold_masks


class MaskDecayNet:
    """What mask decay leaves: the student, its masks and the levels landed on their targets; each
    level's merged, pruned codec."""

    def __init__(self, space: Space, cost: Cost, student: Codec, teacher: Codec,
                 masks: ChannelMasks, targets: list[float], landings: list[Landing]):
        self.space, self.cost, self.codec, self.teacher = space, cost, student, teacher
        self.masks, self.targets, self.landings = masks, targets, landings

    def levels(self, tolerance: float = 0.005, interpolate: Sequence[float] = ()) -> list[LevelResult]:
        """Each level at its landed layout (``tolerance`` was applied when the widths were fixed)."""
        if interpolate:
            raise BadInput("interpolate= with selector=mask_decay: give every target in target_gmacs")
        return [LevelResult(f"Level {i + 1}", t, [float(j == i) for j in range(len(self.targets))],
                            landing.value, landing, self.space.layout_of(landing.choice))
                for i, (t, landing) in enumerate(zip(self.targets, self.landings))]

    def level_index(self, layout: Mapping[str, int]) -> int:
        for i, landing in enumerate(self.landings):
            if self.space.layout_of(landing.choice) == dict(layout):
                return i
        raise ValueError("not the layout of a mask-decay level")

    def merged(self, level: int) -> Codec:
        """The full-width student with ``level``'s masks folded into its convolutions (Claim 1)."""
        merged = self.space.codec(None)
        merged.load_state_dict(self.codec.state_dict())
        return fold_masks(merged, self.masks, level).eval()

    def kept(self, level: int) -> dict[str, torch.Tensor]:
        return self.masks.kept(level)

    def export_weights(self, index: int) -> tuple[Codec, dict[str, torch.Tensor]]:
        """Level ``index``'s merged codec and its kept channels (not the leading ones)."""
        return self.merged(index), self.kept(index)

    def level_codec(self, level: LevelResult | None) -> Codec:
        """The codec at a level's layout holding the kept channels of the merged weights (None: the
        teacher, the original decoder)."""
        if level is None:
            return self.teacher.eval()
        index = self.level_index(level.layout)
        return load_sliced(self.space.codec(level.layout), self.merged(index), self.kept(index)).eval()

    @torch.no_grad()
    def masked(self, level: int, *inputs: torch.Tensor) -> dict:
        """The student's output under ``level``'s masks (what the merged codec must reproduce)."""
        hooks = MaskHooks(self.codec, self.masks)
        hooks.level = level
        try:
            return self.codec.eval()(*inputs)
        finally:
            hooks.remove()

    def to(self, device: torch.device | str) -> "MaskDecayNet":
        for module in (self.codec, self.teacher, self.masks):
            module.to(device)
        return self
