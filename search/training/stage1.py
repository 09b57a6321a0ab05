"""Stage 1: the whole codec trained at one layout (full width, or an exported architecture).

Loss ``R_m + R_r + lambda * D`` (MSE), Eq. 1 of the cgSlimDecoder supplementary; Adam, gradients
clipped at norm 1; CompressAI ``EntropyBottleneck`` quantiles (if a codec has them) by their own
auxiliary loss. The run folder keeps atomic checkpoints and ``log.csv``; training again into the same
folder resumes from the newest checkpoint.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import torch
from compressai.entropy_models import EntropyBottleneck

from ..codec import Codec
from ..config import Stage1Config, TrainingConfig
from ..data import Clips, TrainPairs
from ..space import Space
from .checkpoint import latest_checkpoint
from .loop import LoopConfig, TrainingLoop
from .rd import figures_of, rd_loss
from .weights import codec_with_weights


def p_frame_losses(model: Codec, frames: torch.Tensor, lmbda: float, reference: str
                   ) -> dict[str, torch.Tensor]:
    """Mean RD figures over the P-frames of a batch of GOPs ``[B, gop, 3, h, w]``."""
    ref = frames[:, 0]
    totals: dict[str, torch.Tensor] = {}
    for t in range(1, frames.shape[1]):
        out = model(ref, frames[:, t])
        figures = rd_loss(out, frames[:, t], lmbda)
        for k, v in figures.items():
            totals[k] = totals.get(k, 0) + v / (frames.shape[1] - 1)
        ref = frames[:, t] if reference == "gt" else out["x_hat"].detach().clamp(0, 1)
    return totals


def aux_parameters(model: torch.nn.Module) -> list[torch.nn.Parameter]:
    """CompressAI EntropyBottleneck quantiles, trained by their own auxiliary loss."""
    return [p for m in model.modules() if isinstance(m, EntropyBottleneck) for p in [m.quantiles]]


def batch_of(samples: TrainPairs, step: int, batch: int) -> torch.Tensor:
    """The batch of step ``step``: samples ``step * batch ..`` (deterministic, resumable)."""
    return torch.stack([samples[step * batch + i] for i in range(batch)])


class Stage1Step:
    """One optimisation step of the whole codec (the loop calls it with the step index)."""

    def __init__(self, model: Codec, samples: TrainPairs, training: TrainingConfig):
        self.model, self.samples, self.training = model, samples, training
        self.aux = aux_parameters(model)
        self.main_params = [p for p in model.parameters() if all(p is not a for a in self.aux)]
        groups = [{"params": self.main_params, "lr": training.lr}, {"params": self.aux, "lr": 1e-3}]
        self.optimizer = torch.optim.Adam(groups if self.aux else self.main_params, lr=training.lr)

    def __call__(self, step: int) -> dict[str, float]:
        self.model.train()
        frames = batch_of(self.samples, step, self.training.batch)
        losses = p_frame_losses(self.model, frames, self.training.lmbda, self.training.reference)
        loss = losses["loss"]
        if self.aux:
            loss = loss + sum(m.loss() for m in self.model.modules() if isinstance(m, EntropyBottleneck))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.main_params, 1.0)
        self.optimizer.step()
        return figures_of(losses)


def train_stage1(space: Space, layout: Mapping[str, int], clips: Clips, training: TrainingConfig,
                 budget: Stage1Config, out: Path, *, seed: int, init: str = "",
                 meta: Mapping[str, Any] | None = None, model: Codec | None = None
                 ) -> list[dict[str, float]]:
    """Train (or resume) the codec at ``layout`` in ``out``; ``init``: weights to start from, or
    ``model``: the codec itself (built at ``layout``; fine-tuning weights sliced from a supernet)."""
    torch.manual_seed(seed)
    model = codec_with_weights(space, layout, init) if model is None else model
    samples = TrainPairs(clips, training.crop, training.gop, samples_per_epoch=budget.steps * training.batch,
                         seed=seed)
    step = Stage1Step(model, samples, training)
    meta = {"codec": space.codec_name, "space": space.name, "layout": dict(layout), **(meta or {})}
    loop = TrainingLoop(LoopConfig(steps=budget.steps, out=out, checkpoint_every=training.checkpoint_every,
                                   time_limit=budget.time_limit, desc=f"stage 1 {space.codec_name}",
                                   meta=meta),
                        {"model": model}, step.optimizer)
    if loop.resume():
        print(f"resuming {out} from step {loop.start_step}")
    return loop.run(step)


def stage1_checkpoint(space: Space, clips: Clips, training: TrainingConfig, budget: Stage1Config,
                      out: Path, *, seed: int, meta: Mapping[str, Any] | None = None) -> str:
    """Stage-1 weights of the full-width codec: trained (or resumed) in ``out``; the newest checkpoint."""
    train_stage1(space, space.full_layout(), clips, training, budget, out, seed=seed, meta=meta)
    return str(latest_checkpoint(Path(out) / "checkpoints"))
