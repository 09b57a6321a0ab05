"""The verdict of one target: the chosen architecture against uniform slimming at the same GMACs.

Both start from the supernet's shared weights (sliced to their widths), both are fine-tuned for the
same ``finetune_steps`` on the same batches (the uniform widths are off the option grid and were never
trained in the supernet: without it the comparison would favour the chosen layout), and both are
evaluated on the same held-out test sequences with the same coded I-frames. The uniform layouts of the
option grid are kept as a curve (validation RD loss against GMACs, shared weights), read at the chosen
layout's GMACs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..codec import Codec
from ..config import Stage1Config
from ..evaluation import mean_figures, per_sequence
from ..nn.layers import load_sliced
from ..outer import Chosen, LayoutScorer, UniformBaseline, uniform_at
from ..training import train_stage1
from .job import Job


@dataclass
class Contender:
    """One side of a verdict: its layout, its validation RD loss (shared weights) and, after
    fine-tuning, its figures on the test sequences (``frames``: per frame)."""

    label: str
    layout: dict[str, int]
    gmacs: float
    rd_loss: float
    figures: dict[str, float] = field(default_factory=dict)
    frames: pd.DataFrame | None = None


def finetuned(job: Job, codec: Codec, layout: dict[str, int], folder: str) -> Codec:
    """The codec at ``layout`` with the shared weights, fine-tuned ``finetune_steps`` (resumable)."""
    model = load_sliced(job.space.codec(layout), codec)
    steps = int(job.cfg.outer.finetune_steps or 0)
    if steps:
        train_stage1(job.space, layout, job.clips, job.cfg.training, Stage1Config(steps=steps),
                     job.out / "finetune" / folder, seed=job.cfg.seed, model=model,
                     meta={"finetune_of": folder}, runtime=job.runtime.alone(), desc=f"fine-tune {folder}")
    return model.eval()


def contender(job: Job, codec: Codec, label: str, layout: dict[str, int], rd_loss: float,
              folder: str) -> Contender:
    """Fine-tuned, then evaluated on the test sequences (unless ``eval_gops=0``)."""
    model = finetuned(job, codec, layout, folder)
    side = Contender(label, layout, job.complexity.gmacs(layout), rd_loss)
    if job.cfg.eval.max_gops != 0:
        side.frames = job.evaluate(model)
        side.figures = mean_figures(side.frames)
    return side


def grid_curve(job: Job, scorer: LayoutScorer) -> list[tuple[str, float, float]]:
    """(name, GMACs, validation RD loss) of every uniform layout of the option grid (shared weights)."""
    count = max(job.space.group_sizes, default=1)
    return sorted(((f"uniform {i + 1}/{count}", job.complexity.gmacs(job.space.uniform_layout(i)),
                    scorer(job.space.uniform_layout(i)).rd_loss) for i in range(count)),
                  key=lambda point: point[1])


def read_curve(curve: list[tuple[str, float, float]], gmacs: float) -> float:
    """The grid curve's RD loss at ``gmacs`` (linear between its points; NaN outside them)."""
    xs, ys = [p[1] for p in curve], [p[2] for p in curve]
    return float(np.interp(gmacs, xs, ys, left=np.nan, right=np.nan)) if xs else float("nan")


@dataclass
class Verdict:
    target: float
    chosen: Chosen
    chosen_side: Contender
    uniform: UniformBaseline | None
    uniform_side: Contender | None
    grid_reading: float

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"uniform_grid_rd_loss_at_chosen": self.grid_reading}
        if self.uniform is not None and self.uniform_side is not None:
            side = self.uniform_side
            out["uniform"] = {"name": self.uniform.name, "width": self.uniform.factor,
                              "on_grid": self.uniform.on_grid, "note": self.uniform.note,
                              "gmacs": side.gmacs, "distance": (side.gmacs - self.target) / self.target,
                              "rd_loss": side.rd_loss, **side.figures}
        return out


def judge(job: Job, codec: Codec, scorer: LayoutScorer, chosen: Chosen,
          curve: list[tuple[str, float, float]]) -> Verdict:
    """The verdict of ``chosen``'s target (both sides fine-tuned alike and evaluated alike)."""
    target = chosen.target
    chosen_side = contender(job, codec, f"Chosen @{target:g}", chosen.layout, chosen.rd_loss,
                            f"chosen-{target:g}-trial{chosen.number}")
    uniform = uniform_at(job.space, job.complexity, target)
    uniform_side = None
    if uniform is not None:
        uniform_side = contender(job, codec, f"Uniform @{target:g}", uniform.layout,
                                 scorer(uniform.layout).rd_loss,
                                 f"uniform-{target:g}-x{uniform.factor:.4f}")
    return Verdict(target, chosen, chosen_side, uniform, uniform_side, read_curve(curve, chosen.gmacs))


def rd_rows(side: Contender) -> pd.DataFrame:
    """Per-sequence RD figures of one side, labelled by its layout (a main job's ``rd_points.csv``)."""
    if side.frames is None:
        return pd.DataFrame()
    table = per_sequence(side.frames)
    table.insert(0, "layout", side.label)
    return table
