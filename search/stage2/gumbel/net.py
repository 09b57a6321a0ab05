"""cgSlimDecoder stage 2 (sections A and B of the supplementary): the supernet, what it learned.

The codec, the mode-selection module that maps a level's complexity vector to logits over each
choice group's options, and the closed form of the sampled layout's GMACs. Afterwards each level's
layout is the argmax of its logits; it is then landed exactly on its target
(:mod:`search.stage2.landing`), and targets between two levels are served by interpolating their
complexity vectors (:mod:`search.stage2.gumbel.embedding`).
"""
from __future__ import annotations

import numpy as np
import torch

from ...codec import Codec
from ...complexity import Cost
from ...config.schema import GumbelConfig
from ...nn.layers import load_sliced
from ...space import Space
from ..landing import land
from ..levels import LevelResult
from .embedding import ComplexityEmbedding
from .sampling import TauSchedule
from .selection import ModeSelection, SampledComplexity, choices_for_codec, sample


def tau_schedule(cfg: GumbelConfig, steps: int = 1) -> TauSchedule:
    """The temperature schedule of ``cfg`` (checked: a bad one is refused before any training)."""
    return TauSchedule(steps=steps, start=cfg.tau_start, floor=cfg.tau_floor, kind=cfg.tau_schedule)


class Supernet:
    """Codec + mode selection + sampled complexity: one stage-2 step, and the layouts it learned.

    ``embedding`` gives the complexity vectors of the levels and of targets between them (one-hot over
    the levels by default; :mod:`search.stage2.gumbel.embedding`)."""

    def __init__(self, space: Space, cost: Cost, codec: Codec, targets: list[float],
                 hidden: int = 64, embedding: ComplexityEmbedding | None = None):
        self.space, self.cost, self.codec, self.targets = space, cost, codec, targets
        self.embedding = embedding or ComplexityEmbedding(targets)
        if self.embedding.targets != [float(t) for t in targets]:
            raise ValueError("the embedding was built for other targets")
        self.mode_selection = ModeSelection(self.embedding.dims, space.group_sizes, hidden)
        self.sampled_cost = SampledComplexity(cost)

    def vector(self, level: int) -> torch.Tensor:
        return self.embedding.level(level)

    def to(self, device: torch.device | str) -> "Supernet":
        """Codec, mode selection and the closed form's matrix on ``device``."""
        for module in (self.codec, self.mode_selection, self.sampled_cost):
            if module is not None:
                module.to(device)
        return self

    def penalty(self, cost: torch.Tensor, target: float, beta: float, beta_below: float
                ) -> torch.Tensor:
        """``alpha_i * C_i`` with ``alpha_i = beta (C_i - C_i^tar)^2``, alpha constant (Eq. 2-3); ``C``
        in the cost's unit (GMACs or ms), so beta's scale is that unit's."""
        value = float(cost.detach())
        b = beta if value > target else beta_below
        alpha = b * (value - target) ** 2
        return alpha * cost

    @torch.compiler.disable  # eager: a tiny MLP, a CPU generator, and tau changes every step
    def sample_and_mask(self, level: int, tau: float, generator: torch.Generator
                        ) -> tuple[list[torch.Tensor], torch.Tensor]:
        samples = sample(self.mode_selection, self.vector(level), tau, generator)
        self.codec.set_choices(choices_for_codec(self.space, samples))
        return samples, self.sampled_cost(samples)

    def layout_of(self, vector: torch.Tensor) -> tuple[list[int], dict[str, int]]:
        choice = self.mode_selection.argmax(vector)
        return choice, self.space.layout_of(choice)

    def level_result(self, name: str, target: float, vector: torch.Tensor, tolerance: float,
                     interpolated: bool = False) -> LevelResult:
        choice, _ = self.layout_of(vector)
        argmax_value = float(self.cost.of_choices(np.array([choice]))[0])
        landing = land(self.cost, self.mode_selection.scores(vector), target, tolerance)
        return LevelResult(name, target, vector.tolist(), argmax_value, landing,
                           self.space.layout_of(landing.choice), interpolated)

    def level_codec(self, level: LevelResult | None) -> Codec:
        """The codec at a level's layout with the shared weights' leading channels (None: full)."""
        layout = self.space.full_layout() if level is None else level.layout
        return load_sliced(self.space.codec(layout), self.codec)

    def export_weights(self, index: int) -> None:
        """The levels' weights are the shared weights' leading channels: their layouts say it all."""
        return None

    def interpolated_vector(self, target: float) -> torch.Tensor:
        """Between the two trained levels whose targets bracket ``target``, linearly in GMACs."""
        return self.embedding.target(target)

    def levels(self, tolerance: float, interpolate: list[float] = ()) -> list[LevelResult]:
        """Each trained level landed on its target, then each extra target between the levels."""
        results = [self.level_result(f"Level {i + 1}", t, self.vector(i), tolerance)
                   for i, t in enumerate(self.targets)]
        results += [self.level_result(f"Interpolated {t:g}", t, self.interpolated_vector(t), tolerance,
                                      interpolated=True) for t in interpolate if t not in self.targets]
        return results
