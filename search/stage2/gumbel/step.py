"""One step of cgSlimDecoder's stage 2 (supplementary, Eq. 2-3).

Each step draws a level ``i`` at random, feeds its complexity vector (one-hot, or ELF-VC's level
embedding) to the mode-selection module, samples every choice with Gumbel-softmax (straight-through),
runs the full-width codec with the sampled widths as channel masks (one full-width forward per step,
whatever is sampled), and minimises::

    L = R_m + R_r + lambda * D + alpha_i * C_i,   alpha_i = beta * (C_i - C_i^tar)^2,
    beta = +0.001 if C_i > C_i^tar else -0.001

with ``C_i`` the sampled layout's GMACs from the closed form (exact forward, relaxed backward) and
``alpha_i`` held constant within the step. ``tau`` anneals from 3 towards a floor.

Devices, mixed precision, torch.compile and several processes are stage 1's
(:class:`search.training.Runtime`): the level and the Gumbel noise of a step come from
:func:`search.stage2.loop.step_generator` (the seed and the step), so every process of a distributed
run samples the same widths; each process runs its share of the batch, and DDP averages the gradients
of codec and mode-selection module alike.
"""
from __future__ import annotations

import torch

from ...config import SupernetConfig, TrainingConfig
from ...config.schema import GumbelConfig
from ...data import TrainPairs
from ...training import LOSS_TERMS, Runtime, StepBatches, coding_losses, figures_of, optimizer_step
from ..loop import step_generator
from .net import Supernet, tau_schedule


class SupernetLoss(torch.nn.Module):
    """A stage-2 forward pass: the level's widths sampled as channel masks, then the codec's RD loss at
    them. The module DDP and torch.compile wrap (it holds the codec and the mode-selection module, whose
    gradients DDP averages); returns the RD terms and the sampled GMACs ``C_i``."""

    def __init__(self, net: Supernet, lmbda: float, autocast=None):
        super().__init__()
        self.codec, self.mode_selection = net.codec, net.mode_selection
        self.net, self.lmbda = net, lmbda
        self.autocast = autocast or Runtime().autocast

    def forward(self, frames: torch.Tensor, level: int, tau: float, generator: torch.Generator
                ) -> dict[str, torch.Tensor]:
        _, gmacs = self.net.sample_and_mask(level, tau, generator)
        return {**coding_losses(self.codec, frames, self.lmbda, "gt", self.autocast), "gmacs": gmacs}


class Stage2Step:
    """One stage-2 step: a random level, sampled widths as masks, RD loss plus the penalty."""

    def __init__(self, net: Supernet, samples: TrainPairs, training: TrainingConfig,
                 stage2: SupernetConfig, cfg: GumbelConfig, seed: int, runtime: Runtime | None = None):
        self.net, self.training, self.cfg, self.seed = net, training, cfg, seed
        self.runtime = runtime = runtime or Runtime()
        self.schedule = tau_schedule(cfg, stage2.steps)
        self.optimizer = torch.optim.Adam([{"params": net.codec.parameters(), "lr": training.lr},
                                           {"params": net.mode_selection.parameters(),
                                            "lr": cfg.mode_selection_lr}])
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
