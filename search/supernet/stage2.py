"""cgSlimDecoder stage 2 (sections A and B of the supplementary): the supernet and its training.

Each step draws a level ``i`` at random, feeds its complexity vector (one-hot, or ELF-VC's level
embedding: :mod:`search.supernet.embedding`) to the mode-selection module, samples every choice with
Gumbel-softmax (straight-through), runs the full-width codec with the sampled widths as channel masks (one full-width forward per step, whatever is sampled), and minimises
(Eq. 2-3)::

    L = R_m + R_r + lambda * D + alpha_i * C_i,   alpha_i = beta * (C_i - C_i^tar)^2,
    beta = +0.001 if C_i > C_i^tar else -0.001

with ``C_i`` the sampled layout's GMACs from the closed form (exact forward, relaxed backward) and
``alpha_i`` held constant within the step. ``tau`` anneals from 3 towards a floor.

Afterwards each level's layout is the argmax of its logits; it is then landed exactly on its target
(:mod:`search.supernet.landing`), and targets between two levels are served by interpolating their
complexity vectors.

Devices, mixed precision, torch.compile and several processes are stage 1's
(:class:`search.training.Runtime`): the level and the Gumbel noise of a step come from
:func:`step_generator` (the seed and the step), so every process of a distributed run samples the same
widths; each process runs its share of the batch, and DDP averages the gradients of codec and
mode-selection module alike.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch

from ..codec import Codec
from ..complexity import Complexity
from ..config import SupernetConfig, TrainingConfig
from ..data import Clips, TrainPairs
from ..errors import BadInput
from ..nn.layers import load_sliced
from ..space import Space
from ..training import (LOSS_TERMS, LoopConfig, Runtime, StepBatches, TrainingLoop, codec_with_weights,
                        coding_losses, figures_of, frames_per_sample, optimizer_step)
from .gumbel import TauSchedule
from .landing import Landing, land
from .embedding import ComplexityEmbedding
from .selection import ModeSelection, SampledComplexity, choices_for_codec, sample


@dataclass
class LevelResult:
    name: str
    target: float
    vector: list[float]
    argmax_gmacs: float
    landing: Landing
    layout: dict[str, int]
    interpolated: bool = False
    metrics: dict[str, float] = field(default_factory=dict)


def check_targets(targets: list[float], low: float, high: float, key: str = "target_gmacs"
                  ) -> list[float]:
    """Distinct targets within what the space can reach, highest first (level 1)."""
    if not targets:
        raise BadInput(f"{key}: give at least one target, e.g. {key}=[300,200,120]")
    if len(set(targets)) != len(targets):
        raise BadInput(f"{key}={targets}: duplicated targets (give distinct values)")
    for t in targets:
        if not low <= t <= high:
            raise BadInput(f"{key}={t:g} is outside what the space can reach: [{low:.3f}, {high:.3f}] "
                           f"GMACs")
    return sorted(targets, reverse=True)


def tau_schedule(cfg: SupernetConfig, steps: int = 1) -> TauSchedule:
    """The temperature schedule of ``cfg`` (checked: a bad one is refused before any training)."""
    return TauSchedule(steps=steps, start=cfg.tau_start, floor=cfg.tau_floor, kind=cfg.tau_schedule)


class Supernet:
    """Codec + mode selection + sampled complexity: one stage-2 step, and the layouts it learned.

    ``embedding`` gives the complexity vectors of the levels and of targets between them (one-hot over
    the levels by default; :mod:`search.supernet.embedding`)."""

    def __init__(self, space: Space, complexity: Complexity, codec: Codec, targets: list[float],
                 hidden: int = 64, embedding: ComplexityEmbedding | None = None):
        self.space, self.complexity, self.codec, self.targets = space, complexity, codec, targets
        self.embedding = embedding or ComplexityEmbedding(targets)
        if self.embedding.targets != [float(t) for t in targets]:
            raise ValueError("the embedding was built for other targets")
        self.selector = ModeSelection(self.embedding.dims, space.group_sizes, hidden)
        self.sampled_gmacs = SampledComplexity(complexity)

    def vector(self, level: int) -> torch.Tensor:
        return self.embedding.level(level)

    def to(self, device: torch.device | str) -> "Supernet":
        """Codec, mode selection and the closed form's matrix on ``device``."""
        for module in (self.codec, self.selector, self.sampled_gmacs):
            if module is not None:
                module.to(device)
        return self

    def penalty(self, gmacs: torch.Tensor, target: float, beta: float, beta_below: float
                ) -> torch.Tensor:
        """``alpha_i * C_i`` with ``alpha_i = beta (C_i - C_i^tar)^2``, alpha constant (Eq. 2-3)."""
        value = float(gmacs.detach())
        b = beta if value > target else beta_below
        alpha = b * (value - target) ** 2
        return alpha * gmacs

    @torch.compiler.disable  # eager: a tiny MLP, a CPU generator, and tau changes every step
    def sample_and_mask(self, level: int, tau: float, generator: torch.Generator
                        ) -> tuple[list[torch.Tensor], torch.Tensor]:
        samples = sample(self.selector, self.vector(level), tau, generator)
        self.codec.set_choices(choices_for_codec(self.space, samples))
        return samples, self.sampled_gmacs(samples)

    def layout_of(self, vector: torch.Tensor) -> tuple[list[int], dict[str, int]]:
        choice = self.selector.argmax(vector)
        return choice, self.space.layout_of(choice)

    def level_result(self, name: str, target: float, vector: torch.Tensor, tolerance: float,
                     interpolated: bool = False) -> LevelResult:
        choice, _ = self.layout_of(vector)
        argmax_gmacs = float(self.complexity.gmacs_of_choices(np.array([choice]))[0])
        landing = land(self.complexity, self.selector.scores(vector), target, tolerance)
        return LevelResult(name, target, vector.tolist(), argmax_gmacs, landing,
                           self.space.layout_of(landing.choice), interpolated)

    def level_codec(self, level: LevelResult | None) -> Codec:
        """The codec at a level's layout with the shared weights' leading channels (None: full)."""
        layout = self.space.full_layout() if level is None else level.layout
        return load_sliced(self.space.codec(layout), self.codec)

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


def step_generator(seed: int, step: int) -> torch.Generator:
    """The generator of step ``step``'s level and Gumbel noise (the same after a resume)."""
    return torch.Generator().manual_seed(int(np.random.SeedSequence([seed, step, 2]).generate_state(1)[0]))


class SupernetLoss(torch.nn.Module):
    """A stage-2 forward pass: the level's widths sampled as channel masks, then the codec's RD loss at
    them. The module DDP and torch.compile wrap (it holds the codec and the mode-selection module, whose
    gradients DDP averages); returns the RD terms and the sampled GMACs ``C_i``."""

    def __init__(self, net: Supernet, lmbda: float, autocast=None):
        super().__init__()
        self.codec, self.selector = net.codec, net.selector
        self.net, self.lmbda = net, lmbda
        self.autocast = autocast or Runtime().autocast

    def forward(self, frames: torch.Tensor, level: int, tau: float, generator: torch.Generator
                ) -> dict[str, torch.Tensor]:
        _, gmacs = self.net.sample_and_mask(level, tau, generator)
        return {**coding_losses(self.codec, frames, self.lmbda, "gt", self.autocast), "gmacs": gmacs}


class Stage2Step:
    """One stage-2 step: a random level, sampled widths as masks, RD loss plus the penalty."""

    def __init__(self, net: Supernet, samples: TrainPairs, training: TrainingConfig, cfg: SupernetConfig,
                 seed: int, runtime: Runtime | None = None):
        self.net, self.training, self.cfg, self.seed = net, training, cfg, seed
        self.runtime = runtime = runtime or Runtime()
        self.schedule = tau_schedule(cfg, cfg.steps)
        self.optimizer = torch.optim.Adam([{"params": net.codec.parameters(), "lr": training.lr},
                                           {"params": net.selector.parameters(), "lr": cfg.selector_lr}])
        self.scaler = runtime.grad_scaler()
        self.loss = runtime.wrap(SupernetLoss(net, training.lmbda, runtime.autocast))
        self.batches = StepBatches(samples, training.batch, runtime)
        self.last_sampled = {f"L{i + 1}": float("nan") for i in range(len(net.targets))}

    def __call__(self, step: int) -> dict[str, float]:
        net, codec, targets = self.net, self.net.codec, self.net.targets
        codec.train()
        generator = step_generator(self.seed, step)
        level = int(torch.randint(len(targets), (1,), generator=generator))
        frames = self.batches(step)
        with self.batches.noise(step):
            out = self.loss(frames, level, self.schedule(step), generator)
        gmacs = out["gmacs"]
        penalty = net.penalty(gmacs, targets[level], self.cfg.beta, self.cfg.beta_below)
        loss = out["loss"] + penalty.to(out["loss"].dtype)
        optimizer_step(loss, self.optimizer, self.scaler, codec.parameters())
        codec.set_choices(None)
        self.last_sampled[f"L{level + 1}"] = float(gmacs.detach())
        losses = self.runtime.mean({k: out[k] for k in LOSS_TERMS})
        return {**figures_of(losses), "level": level + 1, "gmacs": float(gmacs.detach()),
                "target": targets[level], "tau": self.schedule(step), **self.last_sampled}


def train_supernet(space: Space, complexity: Complexity, stage1_weights: str, targets: list[float],
                   clips: Clips | Any, training: TrainingConfig, cfg: SupernetConfig, out: Path, *,
                   seed: int, meta: Mapping[str, Any] | None = None, runtime: Runtime | None = None,
                   extend: bool = False) -> Supernet:
    """Stage 2 from the stage-1 weights of the full-width codec, trained (or resumed) in ``out``;
    once it has ended (``stage.json``) its weights are loaded and it is not trained again, unless
    ``extend``.

    Trains on the runtime's device; the supernet comes back on the CPU, where landing, evaluation and
    the outer search take it. ``selector=mask_decay`` trains EVC's mask decay instead
    (:mod:`search.supernet.mask_decay`)."""
    if cfg.selector == "mask_decay":
        from .mask_decay import train_mask_decay  # it builds on this module's records

        return train_mask_decay(space, complexity, stage1_weights, targets, clips, training, cfg, out,
                                seed=seed, meta=meta, runtime=runtime, extend=extend)
    runtime = runtime or Runtime()
    torch.manual_seed(seed)
    codec = codec_with_weights(space, space.full_layout(), stage1_weights)
    net = Supernet(space, complexity, codec, targets, cfg.hidden,
                   ComplexityEmbedding(targets, cfg.embedding, cfg.embedding_dims)).to(runtime.device)
    runtime.seed_process(seed)
    samples = TrainPairs(clips, training.crop, frames_per_sample(codec, 2),
                         samples_per_epoch=cfg.steps * training.batch, seed=seed + 1)
    step = Stage2Step(net, samples, training, cfg, seed, runtime)
    meta = {"codec": space.codec_name, "space": space.name, "layout": space.full_layout(),
            "targets": targets, **(meta or {})}
    run_stage2_loop(step, {"model": codec, "selector": net.selector}, training, cfg, out,
                    desc=f"stage 2 {space.codec_name}", levels=len(targets), meta=meta, runtime=runtime,
                    extend=extend)
    return net.to("cpu")


def run_stage2_loop(step: Any, modules: Mapping[str, torch.nn.Module], training: TrainingConfig,
                    cfg: SupernetConfig, out: Path, *, desc: str, levels: int, meta: Mapping[str, Any],
                    runtime: Runtime, extend: bool) -> None:
    """Train (or resume, or load once finished) a stage-2 ``step`` in ``out``: its checkpoints hold
    ``modules``; its progress bar shows the loss, PSNR and each level's GMACs. The step's batches are
    closed however it ends."""
    bar_keys = ("loss", "psnr") + tuple(f"L{i + 1}" for i in range(levels))
    loop = TrainingLoop(LoopConfig(steps=cfg.steps, out=out, time_limit=cfg.time_limit,
                                   checkpoint_every=training.checkpoint_every, desc=desc,
                                   bar_keys=bar_keys, meta=dict(meta), stage="stage2", extend=extend),
                        dict(modules), step.optimizer, runtime=runtime, scaler=step.scaler)
    if loop.resume() and runtime.is_main and loop.finished is None:
        print(f"resuming {out} from step {loop.start_step}")
    try:
        loop.run(step)
    finally:
        step.batches.close()
