"""The supernet job: stage 1 (unless stage-1 weights are given), stage 2, each level landed on its
target, evaluated on real video with the shared weights, and written as layouts, report and summary."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

from ..config import to_dict
from ..evaluation import mean_figures
from ..files import atomic_write
from ..nn.layers import load_sliced
from ..reports import RENDERERS, Column, structure_table
from ..space import layout_file
from ..supernet import LevelResult, Supernet, train_supernet
from ..training import stage1_checkpoint
from .job import Job


def supernet_stages(job: Job, folder: Path) -> Supernet:
    """Stage 1 in ``folder/stage1`` (skipped when ``checkpoint=`` gives stage-1 weights), then stage 2
    in ``folder``, both on the job's runtime (device, precision, processes)."""
    cfg = job.cfg
    meta = {"config": to_dict(cfg)}
    weights = cfg.checkpoint or stage1_checkpoint(job.space, job.clips, cfg.training, cfg.stage1,
                                                  folder / "stage1", seed=cfg.seed, meta=meta,
                                                  runtime=job.runtime)
    return train_supernet(job.space, job.complexity, weights, job.targets, job.clips, cfg.training,
                          cfg.supernet, folder, seed=cfg.seed, meta=meta, runtime=job.runtime)


def video_figures(job: Job, model) -> dict[str, float]:
    """PSNR, MS-SSIM and bpp of ``model`` on the job's test sequences (I-frames included)."""
    return mean_figures(job.evaluate(model))


def evaluate_levels(job: Job, net: Supernet, levels: list[LevelResult]) -> dict[str, float]:
    """PSNR, MS-SSIM and bpp of each landed layout (into its ``metrics``) and of the full decoder
    (returned), through the sliced model with the shared weights."""
    if job.cfg.eval.max_gops == 0:
        return {}
    net.codec.set_choices(None)
    original = {}
    for level in [None] + levels:
        layout = job.space.full_layout() if level is None else level.layout
        model = load_sliced(job.space.codec(layout), net.codec)
        metrics = video_figures(job, model)
        if level is None:
            original = metrics
        else:
            level.metrics = metrics
    return original


def bpp_source(job: Job) -> str:
    """How the job's bpp were counted, as report rows and summaries say it."""
    if job.codes_images:
        return "image bitstream"
    p_frames = "bitstream" if job.cfg.eval.bitstream else "likelihood"
    if job.cfg.intra.mode == "pristine":
        return f"P-frames {p_frames}; I-frames pristine, not coded (not comparable)"
    return f"P-frames {p_frames}, I-frames {job.cfg.intra.model} bitstream"


def _metric_cells(metrics: Mapping[str, float], source: str) -> dict[str, str]:
    if not metrics:
        return {}
    return {"PSNR (dB)": f"{metrics['psnr']:.3f}", f"bpp ({source})": f"{metrics['bpp']:.4f}"}


def level_summary(level: LevelResult) -> dict:
    return {"name": level.name, "target_gmacs": level.target, "interpolated": level.interpolated,
            "vector": level.vector, "argmax_gmacs": level.argmax_gmacs,
            "argmax_distance": (level.argmax_gmacs - level.target) / level.target,
            "landed_gmacs": level.landing.gmacs, "landed_distance": level.landing.distance,
            "reachable": level.landing.reachable, "note": level.landing.note, **level.metrics}


def write_levels(job: Job, levels: list[LevelResult], original: Mapping[str, float]) -> None:
    """``layouts/<level>.yaml``, ``report.md/.tex/.csv`` and ``summary.json`` in the job's folder."""
    space, out = job.space, job.out
    for level in levels:
        stem = level.name.lower().replace(" ", "_")
        layout_file(space, level.layout, job.profile.resolution, level.landing.gmacs,
                    name=level.name).save(out / "layouts" / f"{stem}.yaml")
    source = bpp_source(job)
    columns = [Column("Original", space.full_layout(), _metric_cells(original, source))]
    columns += [Column(level.name, level.layout, _metric_cells(level.metrics, source))
                for level in levels]
    table = structure_table(space, job.complexity, columns)
    for fmt, render in RENDERERS.items():
        atomic_write(out / f"report.{fmt}", render(table))
    summary = {"levels": [level_summary(level) for level in levels], "original": dict(original)}
    atomic_write(out / "summary.json", json.dumps(summary, indent=1) + "\n")


def print_levels(levels: list[LevelResult], out: Path) -> None:
    print(f"{'level':<18}{'target':>10}{'argmax':>10}{'dist':>8}{'landed':>10}{'dist':>8}"
          f"{'PSNR':>8}{'bpp':>8}")
    for r in levels:
        psnr = f"{r.metrics['psnr']:.2f}" if r.metrics else "-"
        bpp = f"{r.metrics['bpp']:.4f}" if r.metrics else "-"
        print(f"{r.name:<18}{r.target:>10.3f}{r.argmax_gmacs:>10.3f}"
              f"{100 * (r.argmax_gmacs - r.target) / r.target:>7.1f}%{r.landing.gmacs:>10.3f}"
              f"{100 * r.landing.distance:>7.2f}%{psnr:>8}{bpp:>8}")
        if r.landing.note:
            print(f"  note: {r.landing.note}")
    print(f"results: {out}")


def run_supernet_job(job: Job) -> list[LevelResult]:
    """The whole supernet job in ``job.out``; the landed levels (none on the other processes of a
    distributed run: they only train)."""
    net = supernet_stages(job, job.out)
    if not job.runtime.is_main:
        return []
    levels = net.levels(job.cfg.supernet.tolerance, job.interpolate)
    original = evaluate_levels(job, net, levels)
    write_levels(job, levels, original)
    print_levels(levels, job.out)
    return levels
