"""The verdict of one target: the chosen architecture against uniform slimming at the chosen cost.

The cost is the search's: closed-form GMACs, or under ``objective=latency`` the decode time the
measured table predicts (every side is then also timed: :mod:`search.pipeline.timings`, and the chosen
decoder lands on its measured time first: :mod:`search.pipeline.clock_landing`).

Both start from the supernet's shared weights (sliced to their widths), both are fine-tuned for the same
``finetune_steps`` on the same batches at the same learning rate (the uniform widths are off the option
grid and were never trained in the supernet: without it the comparison would favour the chosen layout),
and both are evaluated on the same held-out test sequences with the same coded I-frames. The rate
(``finetune_lr``) is by default a tenth of the training lr: a fresh Adam at the training lr moves every
weight by about lr a step, and on the quick preset it raised the validation RD loss of the uniform
decoders by up to 100% and of the chosen ones by up to 11%, a comparison of damage rather than of
architectures. Each side's validation RD loss (the decision batches) is given before and after fine-
tuning, so a reader sees whether it converged. A single width factor moves the GMACs in steps of the
layers' divisors; where the largest one that fits lies more than 1% below the chosen decoder's GMACs,
the next wider uniform layout is fine-tuned and evaluated alike and the uniform side is read between the
two, linearly in the cost, frame by frame: the comparison is at the chosen decoder's cost.

Every chosen-vs-uniform difference (PSNR, bpp and the RD loss ``bpp + lambda * MSE`` the outer loop
ranks by, on the test sequences) carries a bootstrap 95% interval over sequences, paired, or over GOPs
when there is one sequence (:mod:`search.evaluation.intervals`), and its verdict word.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..codec import Codec
from ..config import Stage1Config
from ..evaluation import mean_figures, per_sequence
from ..evaluation.intervals import mean_interval
from ..nn.layers import load_sliced
from ..outer import Chosen, LayoutScorer, UniformBaseline, uniform_at
from ..training import read_stage, set_aside, train_stage1
from .job import Job
from .clock_landing import ClockLanding, land_on_clock, layout_digest, uniform_reading_ms
from .timings import cost_figures

#: how far below the chosen decoder's cost one width factor may stop before the uniform side is read
#: between it and the next wider uniform layout
EQUAL_GMACS = 0.01
#: per-frame columns a uniform side read between two layouts interpolates
INTERPOLATED = ("psnr", "ms_ssim", "bpp", "bpp_i", "bpp_motion", "bpp_residual", "psnr_y", "psnr_u",
                "psnr_v", "psnr_yuv")


@dataclass
class Contender:
    """One side of a verdict: its layout, its validation RD loss with the shared weights
    (``rd_loss``, the decision batches) and after fine-tuning (``tuned_rd_loss``), and its figures
    on the test sequences (``frames``: per frame); ``model``: the fine-tuned codec that was measured.
    ``cost`` is in the search's cost; ``costs``: GMACs and decode times beside it, where timed."""

    label: str
    layout: dict[str, int]
    cost: float
    rd_loss: float
    figures: dict[str, float] = field(default_factory=dict)
    frames: pd.DataFrame | None = None
    tuned_rd_loss: float = float("nan")
    model: Codec | None = field(default=None, repr=False)
    note: str = ""
    costs: dict[str, float] = field(default_factory=dict)


def finetune_folder(job: Job, folder: str) -> None:
    """A finished fine-tuning run of another step count is set aside, so that this one is run again
    (both sides of a verdict are fine-tuned for the same steps)."""
    steps = int(job.cfg.outer.finetune_steps or 0)
    record = read_stage(job.out / "finetune" / folder)
    if record is not None and record.planned_steps != steps:
        moved = set_aside(job.out / "finetune", [folder], f"{folder}-steps{record.planned_steps}")
        print(f"note: {folder} was fine-tuned for {record.planned_steps} steps, not {steps}: moved to "
              f"{moved}, fine-tuned again")


def finetune_rate(job: Job) -> float:
    """The fine-tuning's Adam learning rate: ``finetune_lr``, or a tenth of the training lr."""
    return float(job.cfg.outer.finetune_lr or job.cfg.training.lr / 10)


def finetuned(job: Job, codec: Codec, layout: dict[str, int], folder: str) -> Codec:
    """The codec at ``layout`` with the shared weights, fine-tuned ``finetune_steps`` at
    :func:`finetune_rate` (resumable; in ``finetune/<folder>-lr<rate>``), on the runtime's device."""
    model = load_sliced(job.space.codec(layout), codec).to(job.runtime.device)
    steps = int(job.cfg.outer.finetune_steps or 0)
    if steps:
        folder = f"{folder}-lr{finetune_rate(job):g}"
        finetune_folder(job, folder)
        training = dataclasses.replace(job.cfg.training, lr=finetune_rate(job))
        train_stage1(job.space, layout, job.clips, training, Stage1Config(steps=steps),
                     job.out / "finetune" / folder, seed=job.cfg.seed, model=model,
                     meta={"finetune_of": folder}, runtime=job.runtime.alone(), desc=f"fine-tune {folder}")
    return model.eval()


def contender(job: Job, codec: Codec, scorer: LayoutScorer, label: str, layout: dict[str, int],
              folder: str, timed: bool = True) -> Contender:
    """Scored with the shared weights, fine-tuned, scored again, timed with its fine-tuned weights
    (where decoders are timed and ``timed``), then evaluated on the test sequences (unless
    ``eval_gops=0``)."""
    side = Contender(label, layout, job.cost.of_layout(layout), scorer(layout).rd_loss)
    side.model = finetuned(job, codec, layout, folder)
    side.costs = cost_figures(job, layout, model=side.model) if timed else {}
    side.tuned_rd_loss = scorer.score_model(side.model).rd_loss
    if job.cfg.eval.max_gops != 0:
        side.frames = job.evaluate(side.model)
        side.figures = mean_figures(side.frames)
    return side


def between(low: Contender, high: Contender, cost: float, label: str, unit: str = "GMACs") -> Contender:
    """The uniform curve read at ``cost`` between two evaluated sides (linear in the cost): RD losses,
    each test frame's figures, and the GMACs and times beside the cost."""
    w = (cost - low.cost) / (high.cost - low.cost)
    mix = lambda a, b: (1 - w) * a + w * b  # noqa: E731
    side = Contender(label, low.layout, cost, mix(low.rd_loss, high.rd_loss),
                     tuned_rd_loss=mix(low.tuned_rd_loss, high.tuned_rd_loss),
                     costs={k: mix(v, high.costs[k]) for k, v in low.costs.items() if k in high.costs})
    if low.frames is not None and high.frames is not None:
        frames = low.frames.copy()
        for column in (c for c in INTERPOLATED if c in frames.columns):
            frames[column] = mix(low.frames[column].to_numpy(), high.frames[column].to_numpy())
        side.frames, side.figures = frames, mean_figures(frames)
    side.note = (f"read at the chosen decoder's {cost:.3f} {unit} between {low.cost:.3f} and "
                 f"{high.cost:.3f} {unit} (linear in {unit}, frame by frame; both fine-tuned alike)")
    return side


def uniform_side(job: Job, codec: Codec, scorer: LayoutScorer, chosen: Chosen, at: float
                 ) -> tuple[UniformBaseline | None, Contender | None, Contender | None]:
    """(baseline, the side compared, the wider layout's side if the curve was read between two): the
    uniform curve read at the cost ``at`` (the chosen decoder's; under ``objective=latency`` the
    predicted time whose uniform reading measures as long as the chosen decoder)."""
    target = chosen.target
    uniform = uniform_at(job.space, job.cost, at)
    if uniform is None:
        return None, None, None
    side = contender(job, codec, scorer, f"Uniform @{target:g}", uniform.layout,
                     f"uniform-{target:g}-x{uniform.factor:.4f}")
    if uniform.wider is None or uniform.cost >= at * (1 - EQUAL_GMACS):
        return uniform, side, None
    wider = contender(job, codec, scorer, f"Uniform @{target:g} (wider)", uniform.wider,
                      f"uniform-{target:g}-wider-{job.cost.of_layout(uniform.wider):.3f}")
    return uniform, between(side, wider, at, f"Uniform @{target:g}", job.cost.unit), wider


def grid_curve(job: Job, scorer: LayoutScorer) -> list[tuple[str, float, float]]:
    """(name, cost, validation RD loss) of every uniform layout of the option grid (shared weights)."""
    count = max(job.space.group_sizes, default=1)
    return sorted(((f"uniform {i + 1}/{count}", job.cost.of_layout(job.space.uniform_layout(i)),
                    scorer(job.space.uniform_layout(i)).rd_loss) for i in range(count)),
                  key=lambda point: point[1])


def read_curve(curve: list[tuple[str, float, float]], cost: float) -> float:
    """The grid curve's RD loss at ``cost`` (linear between its points; NaN outside them)."""
    xs, ys = [p[1] for p in curve], [p[2] for p in curve]
    return float(np.interp(cost, xs, ys, left=np.nan, right=np.nan)) if xs else float("nan")


# ------------------------------------------------------------------------- differences with intervals

def units(frames: pd.DataFrame, gop: int) -> tuple[pd.Series, str]:
    """Each frame's unit of resampling: its sequence, or with a single sequence its GOP; each image for
    an image codec."""
    if "type" in frames and (frames["type"] == "image").all():
        return frames["sequence"].astype(str) + "#" + frames["frame"].astype(str), "images"
    if frames["sequence"].nunique() > 1:
        return frames["sequence"].astype(str), "sequences"
    if "type" in frames and (frames["type"] == "I").any():
        gops = (frames["type"] == "I").cumsum()
    else:
        gops = frames["frame"] // max(gop, 1)
    return frames["sequence"].astype(str) + "#" + gops.astype(str), f"GOPs of {frames['sequence'].iloc[0]}"


def rd_loss_of_frames(frames: pd.DataFrame, lmbda: float) -> pd.Series:
    """Each frame's ``bpp + lambda * MSE`` (MSE from its RGB PSNR): the loss the outer loop ranks by."""
    return frames["bpp"] + lmbda * 10 ** (-frames["psnr"] / 10)


def differences(chosen: pd.DataFrame, uniform: pd.DataFrame, lmbda: float, gop: int, seed: int
                ) -> dict[str, Any]:
    """Chosen minus uniform on the same test frames, per unit (paired), with bootstrap intervals:
    ``psnr_db`` (higher is better), ``bpp`` and ``rd_loss`` (lower is better)."""
    unit, kind = units(chosen, gop)
    figures = {"psnr_db": ("psnr", False), "bpp": ("bpp", True), "rd_loss": (None, True)}
    out: dict[str, Any] = {"units": kind}
    for name, (column, lower_is_better) in figures.items():
        a = chosen[column] if column else rd_loss_of_frames(chosen, lmbda)
        b = uniform[column] if column else rd_loss_of_frames(uniform, lmbda)
        per_unit = (a.to_numpy() - b.to_numpy())
        means = pd.Series(per_unit).groupby(unit.to_numpy(), sort=False).mean()
        out[name] = mean_interval(means.to_numpy(), lower_is_better=lower_is_better, seed=seed).as_dict()
    return out


@dataclass
class Verdict:
    target: float
    chosen: Chosen
    chosen_side: Contender
    uniform: UniformBaseline | None
    uniform_side: Contender | None
    grid_reading: float
    wider_side: Contender | None = None
    versus: dict[str, Any] = field(default_factory=dict)
    cost_name: str = "gmacs"
    clock: ClockLanding | None = None

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"uniform_grid_rd_loss_at_chosen": self.grid_reading}
        if self.clock is not None:
            out["landing_on_measured_time"] = self.clock.summary()
        key = self.cost_name
        if self.uniform is not None and self.uniform_side is not None:
            side = self.uniform_side
            out["uniform"] = {"name": self.uniform.name, "width": self.uniform.factor,
                              "on_grid": self.uniform.on_grid, "note": self.uniform.note,
                              key: side.cost, "distance": (side.cost - self.target) / self.target,
                              **side.costs, "rd_loss": side.rd_loss,
                              "rd_loss_finetuned": side.tuned_rd_loss, "read_between": side.note,
                              **side.figures}
            if self.wider_side is not None:
                wider = self.wider_side
                out["uniform"]["below"] = {key: self.uniform.cost, "width": self.uniform.factor}
                out["uniform"]["wider"] = {key: wider.cost, **wider.costs, "rd_loss": wider.rd_loss,
                                           "rd_loss_finetuned": wider.tuned_rd_loss, **wider.figures}
        if self.versus:
            out["chosen_vs_uniform"] = self.versus
        return out


def judge(job: Job, codec: Codec, scorer: LayoutScorer, chosen: Chosen,
          curve: list[tuple[str, float, float]]) -> Verdict:
    """The verdict of ``chosen``'s target (both sides fine-tuned alike and evaluated alike); ``scorer``
    scores on the decision batches, which did not rank the trials. Under ``objective=latency`` the
    chosen decoder first lands on measured time and the uniform side is read at that time
    (:mod:`search.pipeline.clock_landing`)."""
    target, at, clock = chosen.target, chosen.cost, None
    folder = f"chosen-{target:g}-trial{chosen.number}"
    if job.on_time and job.timing is not None:
        clock = land_on_clock(job, chosen, scorer)
        chosen = clock.chosen
        folder += f"-timed-{layout_digest(chosen.layout)}" if clock.kept else ""
        at = uniform_reading_ms(job, clock.measured_ms, chosen.cost, EQUAL_GMACS)
    # the chosen decoder is timed after its export, from its files (main_job.export_chosen)
    chosen_side = contender(job, codec, scorer, f"Chosen @{target:g}", chosen.layout, folder, timed=False)
    uniform, uniform_view, wider = uniform_side(job, codec, scorer, chosen, at)
    verdict = Verdict(target, chosen, chosen_side, uniform, uniform_view, read_curve(curve, chosen.cost),
                      wider, cost_name=job.cost.name, clock=clock)
    if uniform_view is not None and chosen_side.frames is not None and uniform_view.frames is not None:
        verdict.versus = differences(chosen_side.frames, uniform_view.frames, job.cfg.training.lmbda,
                                     job.cfg.eval.gop_size, job.cfg.seed)
    return verdict


def rd_rows(side: Contender) -> pd.DataFrame:
    """Per-sequence RD figures of one side, labelled by its layout (a main job's ``rd_points.csv``)."""
    if side.frames is None:
        return pd.DataFrame()
    table = per_sequence(side.frames)
    table.insert(0, "layout", side.label)
    return table

