"""One step of mask decay: decay (or prune) every level's masks, draw a level, then the student's RD
loss under its masks plus the distillation term ``lambda * MSE(x_hat, x_hat_teacher)``."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...codec import Codec
from ...config import TrainingConfig
from ...config.schema import MaskDecayConfig
from ...data import TrainPairs
from ...training import (LOSS_TERMS, Runtime, StepBatches, codec_inputs, figures_of, optimizer_step,
                         rd_loss)
from ..loop import step_generator
from .decay import DecaySchedule, MaskDecay
from .masks import ChannelMasks, MaskHooks


class MaskDecayLoss(nn.Module):
    """A mask-decay forward pass: the student under ``level``'s masks, its RD loss plus the
    distillation term ``weight * lambda * MSE(x_hat, teacher_x_hat)``. The module DDP wraps (it holds
    the codec and the masks)."""

    def __init__(self, codec: Codec, masks: ChannelMasks, hooks: MaskHooks, lmbda: float, distill: float,
                 autocast=None):
        super().__init__()
        self.codec, self.masks, self.hooks = codec, masks, hooks
        self.lmbda, self.distill = lmbda, distill
        self.autocast = autocast or Runtime().autocast

    def forward(self, frames: torch.Tensor, level: int, teacher_x_hat: torch.Tensor
                ) -> dict[str, torch.Tensor]:
        inputs, x = codec_inputs(self.codec, frames)
        self.hooks.level = level
        try:
            with self.autocast():
                out = self.codec(*inputs)
        finally:
            self.hooks.level = None
        losses = rd_loss(out, x, self.lmbda)
        distill = F.mse_loss(out["x_hat"].to(x.dtype), teacher_x_hat)
        return {**losses, "loss": losses["loss"] + self.distill * self.lmbda * distill, "distill": distill}


class MaskDecayStep:
    """One step: decay (or prune) every level's masks, draw a level, RD + distillation under its masks."""

    def __init__(self, student: Codec, teacher: Codec, masks: ChannelMasks, samples: TrainPairs,
                 training: TrainingConfig, cfg: MaskDecayConfig, steps: int, seed: int, runtime: Runtime):
        self.student, self.teacher, self.masks = student, teacher, masks
        self.seed, self.runtime, self.levels = seed, runtime, masks.levels
        self.hooks = MaskHooks(student, masks)
        self.decay = MaskDecay(masks, DecaySchedule.of(cfg, steps))
        self.optimizer = torch.optim.Adam([{"params": student.parameters(), "lr": training.lr},
                                           {"params": masks.parameters(), "lr": training.lr}])
        self.scaler = runtime.grad_scaler()
        self.loss = runtime.wrap(MaskDecayLoss(student, masks, self.hooks, training.lmbda,
                                               cfg.distill, runtime.autocast))
        self.batches = StepBatches(samples, training.batch, runtime)

    def __call__(self, step: int) -> dict[str, float]:
        self.decay(step)
        self.student.train()
        level = int(torch.randint(self.levels, (1,), generator=step_generator(self.seed, step)))
        frames = self.batches(step)
        with torch.no_grad():
            teacher_x_hat = self.teacher(*codec_inputs(self.teacher, frames)[0])["x_hat"].float()
        with self.batches.noise(step):
            out = self.loss(frames, level, teacher_x_hat)
        optimizer_step(out["loss"], self.optimizer, self.scaler,
                       list(self.student.parameters()) + list(self.masks.parameters()))
        losses = self.runtime.mean({k: out[k] for k in LOSS_TERMS + ("distill",)})
        return {**figures_of(losses), "level": level + 1, **self.sparsity()}

    def sparsity(self) -> dict[str, float]:
        """Per level, the share of channels whose mask is below 0.5 (the decay's progress)."""
        out = {}
        for level in range(self.levels):
            masks = [self.masks.mask(level, keys[0]).detach() for keys in self.masks.groups]
            below = sum(int((m < 0.5).sum()) for m in masks)
            out[f"L{level + 1}"] = below / max(1, sum(m.numel() for m in masks))
        return out
