"""Which I-frame codec a job codes its GOPs' first frames with (:mod:`search.intra`)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..config import Config
from ..data import Clips
from ..errors import BadInput
from ..intra import (CLASSICAL, ClassicalIntra, IntraCodec, QuickIntra, classical_intra, load_intra,
                     pretrained, quality_for, quick_intra)
from ..intra.classical import check_quality
from ..intra.models import check_architecture
from ..paths import RESULTS_DIR

#: classical coders (x265's HEVC intra, AVIF), a learned image codec, or none (pristine I-frames)
MODES = (*CLASSICAL, "learned", "pristine")


def check_intra(cfg: Config) -> None:
    if cfg.intra.mode not in MODES:
        raise BadInput(f"intra={cfg.intra.mode!r}: expected one of {', '.join(MODES)} (hevc: x265 intra "
                       f"as BPG; avif; learned: a CompressAI image codec; pristine: I-frames not coded)")
    check_architecture(cfg.intra.model)
    if cfg.intra.quality is not None:
        if cfg.intra.mode not in CLASSICAL:
            raise BadInput(f"intra_quality={cfg.intra.quality}: only intra=hevc (a QP) or intra=avif (a "
                           f"quality) take it; intra={cfg.intra.mode} takes its quality from the lambda")
        check_quality(cfg.intra.mode, cfg.intra.quality)
    if cfg.intra.checkpoint and not Path(cfg.intra.checkpoint).is_file():
        raise BadInput(f"intra_checkpoint={cfg.intra.checkpoint}: no such file")


def quick_intra_path(cfg: Config, lmbda: float) -> Path:
    """Where the quick preset keeps a small I-frame codec trained for no run in particular."""
    return RESULTS_DIR / "intra" / f"{cfg.intra.model}-quick-lambda{lmbda:g}-seed{cfg.seed}.pt"


def obtain_intra(cfg: Config, lmbda: float, clips: Callable[[], Clips], beside: Path | None = None,
                 keep: bool = False) -> IntraCodec | ClassicalIntra | None:
    """The I-frame codec for P-frames trained at ``lmbda``: none with ``intra=pristine``; x265's HEVC
    intra (``intra=hevc``, the quick preset's default) or AVIF at the lambda's QP or quality (or
    ``intra_quality=``); else (``intra=learned``) the ``intra_checkpoint=`` file, the ``intra.pt``
    found ``beside`` the P-frame weights, the zoo's pretrained model (``preset=paper``: real weights
    are required), or the quick preset's small codec (trained on ``clips()`` for about a minute and
    kept ``beside`` the weights with ``keep``, else in ``results/intra/``)."""
    check_intra(cfg)
    if cfg.intra.mode == "pristine":
        return None
    if cfg.intra.mode in CLASSICAL:
        return classical_intra(cfg.intra.mode, lmbda, cfg.intra.quality, cfg.eval.yuv_to_rgb)
    if cfg.intra.checkpoint:
        return load_intra(cfg.intra.checkpoint, cfg.intra.model)
    kept = beside / "intra.pt" if beside is not None else None
    if kept is not None and kept.is_file():
        return load_intra(kept, cfg.intra.model)
    if cfg.preset == "paper":
        return pretrained(cfg.intra.model, quality_for(lmbda))
    path = kept if keep and kept is not None else quick_intra_path(cfg, lmbda)
    return quick_intra(path, clips(), lmbda, cfg.seed, cfg.intra.model, quick_budget(cfg))


def intra_label(cfg: Config) -> str:
    """The I-frame coder as reports name it (before it is built)."""
    if cfg.intra.mode in CLASSICAL:
        return "HEVC intra (x265)" if cfg.intra.mode == "hevc" else "AVIF"
    return cfg.intra.model


def quick_budget(cfg: Config) -> QuickIntra:
    return QuickIntra(steps=cfg.intra.quick_steps, time_limit=cfg.intra.quick_time_limit)
