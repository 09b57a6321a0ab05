"""The main job: from a space and GMAC targets to chosen architectures you can train.

1. The job (:mod:`search.pipeline.job`): the space, its codec and the complexity profile; the targets
   checked against what the space can reach.
2. A supernet: stage 1 (unless ``checkpoint=`` gives stage-1 weights) and stage 2 (cgSlimDecoder) with
   the preset; its levels are landed exactly on the targets.
3. Outer loop (Optuna, or Ray Tune with ``backend=ray``): layouts scored with the supernet's shared
   weights, GMACs and RD loss minimised, each target a constraint; the landed levels and the
   uniform-slimming layouts are the first trials. Per target, the chosen architecture is the feasible
   trial with the lowest RD loss.
4. The run folder: config, profile, summary, structure report (Original, each target's chosen layout
   and the uniform-slimming layout nearest below it, with GMACs, RD loss, PSNR and bpp), Pareto plots,
   trials.csv, study.db, and each chosen architecture as a training config (``layouts/<target>.yaml``,
   ``weights/<target>.pt``).

The same command with the same folder resumes: stage 1, stage 2 and the study each continue where they
stopped.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..codec import Codec
from ..config import format_resolution
from ..data import EvalSequences
from ..evaluation import mean_figures
from ..files import atomic_write
from ..nn.layers import load_sliced
from ..outer import (LayoutScorer, StudyResult, export_architecture, run_study, uniform_below,
                     validation_pairs)
from ..reports import RENDERERS, Column, Point, plot_pareto, structure_table
from ..supernet import LevelResult
from ..training import codec_at_layout, latest_checkpoint
from .job import Job
from .supernet_job import eval_sequences, supernet_stages


def default_out(preset: str, seed: int):
    """``<preset>-<targets>-seed<seed>``: the same command finds its own folder again and resumes."""
    return lambda targets: f"{preset}-{'-'.join(f'{t:g}' for t in targets)}-seed{seed}"


def search_layouts(job: Job, codec: Codec, levels: list[LevelResult]) -> tuple[LayoutScorer, StudyResult]:
    """The outer search, scoring layouts with the shared weights on fixed validation pairs."""
    cfg = job.cfg
    frames = validation_pairs(cfg.data, cfg.outer.val_count, cfg.outer.val_crop or cfg.training.crop,
                              cfg.seed, job.space.codec.MULTIPLE)
    scorer = LayoutScorer(codec, cfg.training.lmbda, frames)
    study = run_study(scorer, job.space, job.complexity, job.targets, job.out, cfg.outer, seed=cfg.seed,
                      supernet_layouts=[(r.name, r.layout) for r in levels], verbose=cfg.verbose)
    atomic_write(job.out / "trials.csv", study.trials.to_csv(index=False))
    return scorer, study


class Judge:
    """RD figures of layouts for the report: validation RD loss and (unless ``eval.max_gops=0``) PSNR
    and bpp on real video, each through the codec sliced from the shared weights."""

    def __init__(self, job: Job, scorer: LayoutScorer, codec: Codec):
        self.job, self.scorer, self.codec = job, scorer, codec
        self.sequences: EvalSequences = eval_sequences(job)
        self.on_video = bool(job.cfg.eval.max_gops)

    def video(self, model: Codec) -> dict[str, float]:
        if not self.on_video:
            return {}
        figures = mean_figures(model, self.sequences, self.job.cfg.eval.bitstream)
        return {"psnr": figures["psnr"], "bpp": figures["bpp"]}

    def layout(self, layout: dict[str, int], rd_loss: float | None = None) -> dict[str, float]:
        """``rd_loss`` (scored again when not given) and the video figures of ``layout``."""
        model = load_sliced(self.job.space.codec(layout), self.codec)
        rd_loss = self.scorer(layout).rd_loss if rd_loss is None else rd_loss
        return {"rd_loss": rd_loss, **self.video(model)}

    def original(self) -> dict[str, Any]:
        """The full decoder with the shared weights, and with its stage-1 weights: stage 2 trains the
        shared weights mostly at the sampled (slimmer) widths, so the stage-1 figures are what the
        original decoder itself achieves."""
        space, full = self.job.space, self.job.space.full_layout()
        original = {"gmacs": self.job.complexity.range_gmacs()[1], "rd_loss": self.scorer(full).rd_loss,
                    **self.video(self.codec)}
        stage1 = self.job.cfg.checkpoint or latest_checkpoint(self.job.out / "supernet" / "stage1" /
                                                              "checkpoints")
        if stage1:
            model = codec_at_layout(space, full, str(stage1))
            original["stage1"] = {"rd_loss": self.scorer.score_model(model).rd_loss, **self.video(model)}
        return original


def target_rows(job: Job, study: StudyResult, judge: Judge, codec: Codec
                ) -> tuple[list[dict], list[Column], list[Point]]:
    """Per target: the chosen architecture (exported) and the uniform layout nearest below it."""
    rows, columns, uniform_points = [], [], []
    for target in job.targets:
        row: dict[str, Any] = {"target_gmacs": target}
        chosen = study.chosen.get(target)
        if chosen is not None:
            row["chosen"] = _export(job, chosen, target, codec) | judge.layout(chosen.layout,
                                                                                 chosen.rd_loss)
            columns.append(Column(f"Chosen @{target:g}", chosen.layout, {}))
        baseline = uniform_below(job.space, job.complexity, target)
        if baseline is not None:
            name, layout = baseline
            row["uniform"] = {"name": name, "gmacs": job.complexity.gmacs(layout), **judge.layout(layout)}
            if all(point.label != name for point in uniform_points):
                uniform_points.append(Point(name, row["uniform"]["gmacs"], row["uniform"]["rd_loss"]))
            columns.append(Column(f"Uniform @{target:g}", layout, {}))
        rows.append(row)
    return rows, columns, uniform_points


def _export(job: Job, chosen, target: float, codec: Codec) -> dict[str, Any]:
    exported = export_architecture(job.space, chosen.layout, codec, job.out, f"{target:g}",
                                   job.profile.resolution, chosen.gmacs,
                                   extra={"target_gmacs": target, "preset": job.cfg.preset,
                                          "lambda": job.cfg.training.lmbda, "rd_loss": chosen.rd_loss})
    return {"gmacs": chosen.gmacs, "distance": (chosen.gmacs - target) / target,
            "rd_loss": chosen.rd_loss, "trial": chosen.number, "source": chosen.source,
            "layout_file": str(exported.layout_path.relative_to(job.out)),
            "weights_file": str(exported.weights_path.relative_to(job.out))}


def _cells(metrics: dict, source: str, suffix: str = "") -> dict[str, str]:
    """Metric rows of a report column (shared supernet weights; ``stage1`` adds its own rows)."""
    cells = {f"RD loss (validation){suffix}": f"{metrics['rd_loss']:.4f}"}
    if "psnr" in metrics:
        cells[f"PSNR (dB){suffix}"] = f"{metrics['psnr']:.3f}"
        cells[f"bpp ({source}){suffix}"] = f"{metrics['bpp']:.4f}"
    if "stage1" in metrics:
        cells.update(_cells(metrics["stage1"], source, ", stage-1 weights"))
    return cells


def write_report(job: Job, original: dict, rows: list[dict], columns: list[Column]) -> None:
    source = "bitstream" if job.cfg.eval.bitstream else "likelihood"
    by_name = {"Original": original}
    for row in rows:
        for kind in ("chosen", "uniform"):
            if kind in row:
                by_name[f"{kind.capitalize()} @{row['target_gmacs']:g}"] = row[kind]
    report_columns = [Column("Original", job.space.full_layout(), _cells(original, source))]
    report_columns += [Column(c.name, c.layout, _cells(by_name[c.name], source)) for c in columns]
    table = structure_table(job.space, job.complexity, report_columns)
    for fmt, render in RENDERERS.items():
        atomic_write(job.out / f"report.{fmt}", render(table))


def write_plots(job: Job, study: StudyResult, uniform_points: list[Point]) -> None:
    chosen = {t: (study.chosen[t].gmacs, study.chosen[t].rd_loss) if study.chosen.get(t) else None
              for t in job.targets}
    plot_pareto(study.trials, job.targets, chosen, uniform_points, job.out / "pareto.png",
                job.out / "pareto.svg", title=f"{job.space.name}: outer search",
                resolution=format_resolution(job.profile.resolution))


def summary_of(job: Job, original: dict, rows: list[dict], levels: list[LevelResult],
               study: StudyResult) -> dict:
    low, high = job.complexity.range_gmacs()
    return {"space": job.space.name, "codec": job.space.codec_name,
            "resolution": format_resolution(job.profile.resolution), "range_gmacs": [low, high],
            "targets": rows, "original": original,
            "supernet_levels": [{"name": r.name, "target_gmacs": r.target, "argmax_gmacs": r.argmax_gmacs,
                                 "landed_gmacs": r.landing.gmacs} for r in levels],
            "trials": int(len(study.trials)),
            "bpp_source": "bitstream" if job.cfg.eval.bitstream else "likelihood"}


def run_main_job(job: Job) -> dict:
    """The whole main job in ``job.out``; the summary it wrote to ``summary.json``."""
    job.write_config()
    if job.runtime.is_main:
        atomic_write(job.out / "profile.json", job.profile.to_json() + "\n")
    net = supernet_stages(job, job.out / "supernet")
    if not job.runtime.is_main:  # the other processes of a torchrun job only train
        return {}
    levels = net.levels(job.cfg.supernet.tolerance, job.interpolate)
    codec = net.codec.eval()
    scorer, study = search_layouts(job, codec, levels)
    judge = Judge(job, scorer, codec)
    original = judge.original()
    rows, columns, uniform_points = target_rows(job, study, judge, codec)
    write_report(job, original, rows, columns)
    write_plots(job, study, uniform_points)
    summary = summary_of(job, original, rows, levels, study)
    atomic_write(job.out / "summary.json", json.dumps(summary, indent=1) + "\n")
    print_summary(summary, job.out)
    return summary


def print_summary(summary: dict, out: Path) -> None:
    original = summary["original"]
    print(f"\n{summary['space']} @ {summary['resolution']}: original decoder "
          f"{summary['range_gmacs'][1]:.3f} GMACs, RD loss {original['rd_loss']:.4f}"
          + (f", PSNR {original['psnr']:.2f} dB, bpp {original['bpp']:.4f}" if "psnr" in original else "")
          + " (shared supernet weights)")
    if "stage1" in original:
        s1 = original["stage1"]
        print(f"  with its stage-1 weights: RD loss {s1['rd_loss']:.4f}"
              + (f", PSNR {s1['psnr']:.2f} dB, bpp {s1['bpp']:.4f}" if "psnr" in s1 else ""))
    print(f"{'target':>9} | {'chosen GMACs':>12} {'dist':>7} {'RD loss':>8} {'PSNR':>7} {'bpp':>7} | "
          f"{'uniform GMACs':>13} {'RD loss':>8} {'PSNR':>7} {'bpp':>7}")
    for row in summary["targets"]:
        c, u = row.get("chosen"), row.get("uniform")
        left = (f"{c['gmacs']:>12.3f} {100 * c['distance']:>6.2f}% {c['rd_loss']:>8.4f} "
                f"{c.get('psnr', float('nan')):>7.2f} {c.get('bpp', float('nan')):>7.4f}"
                if c else f"{'no feasible trial':>45}")
        right = (f"{u['gmacs']:>13.3f} {u['rd_loss']:>8.4f} {u.get('psnr', float('nan')):>7.2f} "
                 f"{u.get('bpp', float('nan')):>7.4f}" if u else f"{'none below':>38}")
        print(f"{row['target_gmacs']:>9.3f} | {left} | {right}")
    print(f"results: {out}")
