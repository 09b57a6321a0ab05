"""The evaluation job: one or more checkpoints (one per lambda: an RD curve) on test sequences.

Each checkpoint is one RD point: its lambda comes from the checkpoint (ours record their
configuration), else from ``lmbda=[...]`` in checkpoint order, else the preset's. The lambda also
picks the I-frame codec's quality. Writes the per-frame, per-sequence and per-class tables and, with
two points or more, the RD curves of each class (PSNR-bpp and MS-SSIM-bpp).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from ..config import Config
from ..data import Clips, open_test_set
from ..errors import BadInput
from ..evaluation import Protocol, evaluate, per_class, per_sequence, point_column
from ..files import atomic_write
from ..paths import RESULTS_DIR
from ..reports import plot_rd
from ..space import Space
from ..training import codec_at_layout, codes_images, read_checkpoint
from .intra import obtain_intra
from .job import checkpoint_list


@dataclass(frozen=True)
class RdPoint:
    checkpoint: str
    lmbda: float


def recorded_lambda(path: str) -> float | None:
    """The lambda a checkpoint of ours was trained with (None for public checkpoints)."""
    config = read_checkpoint(path).get("config")
    try:
        return float(config["training"]["lmbda"])
    except (TypeError, KeyError, ValueError):
        return None


def rd_points(cfg: Config) -> list[RdPoint]:
    paths = checkpoint_list(cfg.checkpoint) or [""]
    given = list(cfg.eval.lambdas)
    if given and len(given) != len(paths):
        raise BadInput(f"lmbda={given}: {len(given)} lambdas for {len(paths)} checkpoint(s); give one "
                       f"per checkpoint, in the same order")
    points = []
    for i, path in enumerate(paths):
        lmbda = (recorded_lambda(path) if path else None) or (given[i] if given else None)
        if lmbda is None:
            if len(paths) > 1:
                raise BadInput(f"checkpoint={path} records no lambda: give lmbda=[...], one per "
                               f"checkpoint")
            lmbda = cfg.training.lmbda
        points.append(RdPoint(path, float(lmbda)))
    return points


def _run_folder(checkpoint: str) -> Path | None:
    """The training run a checkpoint of ours belongs to (``<run>/checkpoints/step_*.pt``)."""
    path = Path(checkpoint)
    return path.parent.parent if checkpoint and path.parent.name == "checkpoints" else None


def evaluate_points(cfg: Config, space: Space, layout: dict[str, int],
                    device: torch.device | str = "cpu") -> pd.DataFrame:
    """Per-frame figures of every RD point on the test set, the codecs on ``device``."""
    points = rd_points(cfg)
    protocol = Protocol.of(cfg.eval)
    sequences = open_test_set(cfg.eval.data, protocol.yuv)
    frames = []
    for point in points:
        torch.manual_seed(cfg.seed)
        model = codec_at_layout(space, layout, point.checkpoint).to(device)
        # an image codec codes every image itself: no I-frame codec to obtain
        intra = None if codes_images(model) else obtain_intra(cfg, point.lmbda, lambda: Clips("default"),
                                                               _run_folder(point.checkpoint))
        if intra is not None:
            intra.to(device)
        frames.append(evaluate(model, sequences, protocol, intra, point=point.lmbda))
    return pd.concat(frames, ignore_index=True)


def output_paths(cfg: Config, space: Space) -> tuple[Path, Path]:
    """(folder, per-frame CSV): ``out=`` a folder, or the per-frame CSV with the rest beside it."""
    out = Path(cfg.out) if cfg.out else RESULTS_DIR / space.name / "eval"
    if out.suffix == ".csv":
        return out.parent, out
    return out, out / "frames.csv"


def write_eval(frames: pd.DataFrame, folder: Path, frames_csv: Path, title: str) -> dict[str, pd.DataFrame]:
    """The three tables and, with two RD points or more, the curves of each class."""
    sequences = per_sequence(frames)
    classes = per_class(sequences)
    atomic_write(frames_csv, frames.to_csv(index=False))
    atomic_write(folder / "sequences.csv", sequences.to_csv(index=False))
    atomic_write(folder / "classes.csv", classes.to_csv(index=False))
    if point_column(frames) and frames[point_column(frames)].nunique() > 1:
        for metric, stem in (("psnr", "rd_psnr"), ("ms_ssim", "rd_msssim")):
            curves = {str(group): list(zip(rows["bpp"], rows[metric]))
                      for group, rows in classes.groupby("class", sort=False)}
            plot_rd(curves, folder / stem, metric=metric, title=title)
    return {"sequences": sequences, "classes": classes}
