"""Stage 1: the whole codec trained at one layout (full width, or an exported architecture).

Loss ``R_m + R_r + lambda * D`` (MSE), Eq. 1 of the cgSlimDecoder supplementary, over the P-frames of
GOPs; for an image codec ``R + lambda * D`` over single images (:func:`coding_losses`); Adam, gradients
clipped at norm 1; CompressAI ``EntropyBottleneck`` quantiles (if a codec has them) by their own
auxiliary loss. The run folder keeps atomic checkpoints and ``log.csv``; training again into the same
folder resumes from the newest checkpoint.

The device, the arithmetic, torch.compile and several processes come from a
:class:`~search.training.runtime.Runtime`; batches come through a DataLoader
(:class:`~search.training.batches.StepBatches`).
"""
from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from compressai.entropy_models import EntropyBottleneck

from ..codec import Codec
from ..config import Stage1Config, TrainingConfig
from ..data import Clips, TrainPairs
from ..space import Space
from .batches import StepBatches
from .checkpoint import latest_checkpoint
from .loop import LoopConfig, TrainingLoop
from .rd import figures_of, rd_loss
from .runtime import Runtime, optimizer_step
from .weights import codec_with_weights, start_codec

#: the loss terms every step reports (averaged over the processes of a distributed run)
LOSS_TERMS = ("loss", "bpp", "bpp_motion", "bpp_residual", "mse")


def p_frame_losses(model: Codec, frames: torch.Tensor, lmbda: float, reference: str,
                   autocast: Callable[[], AbstractContextManager] = nullcontext
                   ) -> dict[str, torch.Tensor]:
    """Mean RD figures over the P-frames of a batch of GOPs ``[B, gop, 3, h, w]``; the codec runs
    under ``autocast()`` (mixed precision), the loss is computed in the frames' precision."""
    ref = frames[:, 0]
    totals: dict[str, torch.Tensor] = {}
    for t in range(1, frames.shape[1]):
        with autocast():
            out = model(ref, frames[:, t])
        figures = rd_loss(out, frames[:, t], lmbda)
        for k, v in figures.items():
            totals[k] = totals.get(k, 0) + v / (frames.shape[1] - 1)
        ref = frames[:, t] if reference == "gt" else out["x_hat"].detach().clamp(0, 1).to(frames.dtype)
    return totals


def image_losses(model: Codec, frames: torch.Tensor, lmbda: float, reference: str = "gt",
                 autocast: Callable[[], AbstractContextManager] = nullcontext
                 ) -> dict[str, torch.Tensor]:
    """RD figures of a batch of images ``[B, n, 3, h, w]`` (each of the ``n`` frames coded alone):
    ``R + lambda * MSE`` with R the ``"image"`` likelihoods' bpp. ``reference`` is unused (no
    reference frame), kept so that both kinds are called alike."""
    x = frames.flatten(0, 1)
    with autocast():
        out = model(x)
    return rd_loss(out, x, lmbda)


def codes_images(codec: Codec) -> bool:
    """Whether ``codec`` codes images (``CODES = "image"``) rather than P-frames."""
    return getattr(codec, "CODES", "p-frame") == "image"


def frames_per_sample(codec: Codec, gop: int) -> int:
    """Frames of one training or validation sample: one image, or a GOP (a reference and P-frames)."""
    return 1 if codes_images(codec) else gop


def codec_inputs(codec: Codec, frames: torch.Tensor) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
    """The codec's inputs from a batch of samples (frame pairs ``[B, 2, 3, h, w]``, or images
    ``[B, 1, 3, h, w]``) and the frame it codes: an image codec codes the current frame alone, a
    P-frame codec against the reference."""
    x = frames[:, -1]
    return ((x,) if codes_images(codec) else (frames[:, 0], x)), x


def coding_losses(model: Codec, frames: torch.Tensor, lmbda: float, reference: str,
                  autocast: Callable[[], AbstractContextManager] = nullcontext
                  ) -> dict[str, torch.Tensor]:
    """The RD loss terms of a batch of samples, as the codec codes them: P-frame GOPs
    (:func:`p_frame_losses`) or single images (:func:`image_losses`)."""
    losses = image_losses if codes_images(model) else p_frame_losses
    return losses(model, frames, lmbda, reference, autocast)


class GopLoss(torch.nn.Module):
    """The RD loss of a batch of samples (GOPs, or images) through ``codec``: the module a step calls,
    and the one DistributedDataParallel and torch.compile wrap."""

    def __init__(self, codec: Codec, lmbda: float, reference: str,
                 autocast: Callable[[], AbstractContextManager] = nullcontext):
        super().__init__()
        self.codec, self.lmbda, self.reference, self.autocast = codec, lmbda, reference, autocast

    def forward(self, frames: torch.Tensor) -> dict[str, torch.Tensor]:
        return coding_losses(self.codec, frames, self.lmbda, self.reference, self.autocast)


def aux_parameters(model: torch.nn.Module) -> list[torch.nn.Parameter]:
    """CompressAI EntropyBottleneck quantiles, trained by their own auxiliary loss."""
    return [p for m in model.modules() if isinstance(m, EntropyBottleneck) for p in [m.quantiles]]


def batch_of(samples: TrainPairs, step: int, batch: int) -> torch.Tensor:
    """The batch of step ``step``: samples ``step * batch ..`` (deterministic, resumable)."""
    return torch.stack([samples[step * batch + i] for i in range(batch)])


class Stage1Step:
    """One optimisation step of the whole codec (the loop calls it with the step index)."""

    def __init__(self, model: Codec, samples: TrainPairs, training: TrainingConfig,
                 runtime: Runtime | None = None):
        self.model, self.training = model, training
        self.runtime = runtime = runtime or Runtime()
        self.aux = aux_parameters(model)
        self.main_params = [p for p in model.parameters() if all(p is not a for a in self.aux)]
        groups = [{"params": self.main_params, "lr": training.lr}, {"params": self.aux, "lr": 1e-3}]
        self.optimizer = torch.optim.Adam(groups if self.aux else self.main_params, lr=training.lr)
        self.scaler = runtime.grad_scaler()
        self.loss = runtime.wrap(GopLoss(model, training.lmbda, training.reference, runtime.autocast))
        self.batches = StepBatches(samples, training.batch, runtime)

    def __call__(self, step: int) -> dict[str, float]:
        self.model.train()
        frames = self.batches(step)
        with self.batches.noise(step):
            losses = self.loss(frames)
        loss = losses["loss"]
        if self.aux:
            loss = loss + sum(m.loss() for m in self.model.modules() if isinstance(m, EntropyBottleneck))
        optimizer_step(loss, self.optimizer, self.scaler, self.main_params)
        return figures_of(self.runtime.mean({k: losses[k] for k in LOSS_TERMS}))


def train_stage1(space: Space, layout: Mapping[str, int], clips: Clips | Any, training: TrainingConfig,
                 budget: Stage1Config, out: Path, *, seed: int, init: str = "",
                 meta: Mapping[str, Any] | None = None, model: Codec | None = None,
                 runtime: Runtime | None = None, stage: str = "", extend: bool = False,
                 desc: str = "") -> list[dict[str, float]]:
    """Train (or resume) the codec at ``layout`` in ``out``; ``init``: weights to start from, or
    ``model``: the codec itself (built at ``layout``; fine-tuning weights sliced from a supernet);
    ``clips``: a frame source (:class:`~search.data.Clips` or :class:`~search.data.Septuplets`).
    A run that has ended (``stage.json``) is loaded, not trained again, unless ``extend``; ``stage``:
    the ``extend=`` value that would train it on; ``desc``: its name on the progress bar."""
    runtime = runtime or Runtime()
    torch.manual_seed(seed)
    if model is None:  # a codec trained from scratch starts as ``start=`` says
        model = codec_with_weights(space, layout, init)
        model = model if init else start_codec(model, training.start or "public")
    model = model.to(runtime.device)
    runtime.seed_process(seed)
    samples = TrainPairs(clips, training.crop, frames_per_sample(model, training.gop),
                         samples_per_epoch=budget.steps * training.batch, seed=seed)
    step = Stage1Step(model, samples, training, runtime)
    meta = {"codec": space.codec_name, "space": space.name, "layout": dict(layout), **(meta or {})}
    loop = TrainingLoop(LoopConfig(steps=budget.steps, out=out, checkpoint_every=training.checkpoint_every,
                                   time_limit=budget.time_limit, desc=desc or f"stage 1 {space.codec_name}",
                                   meta=meta, stage=stage, extend=extend),
                        {"model": model}, step.optimizer, runtime=runtime, scaler=step.scaler)
    if loop.resume() and runtime.is_main and loop.finished is None:
        print(f"resuming {out} from step {loop.start_step}")
    try:
        return loop.run(step)
    finally:
        step.batches.close()


def stage1_checkpoint(space: Space, clips: Clips | Any, training: TrainingConfig, budget: Stage1Config,
                      out: Path, *, seed: int, meta: Mapping[str, Any] | None = None,
                      runtime: Runtime | None = None, extend: bool = False) -> str:
    """Stage-1 weights of the full-width codec: trained (or resumed) in ``out``, unless finished
    (``extend``: trained on even so); the newest checkpoint."""
    train_stage1(space, space.full_layout(), clips, training, budget, out, seed=seed, meta=meta,
                 runtime=runtime, stage="stage1", extend=extend)
    return str(latest_checkpoint(Path(out) / "checkpoints"))
