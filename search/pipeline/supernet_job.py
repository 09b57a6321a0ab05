"""The supernet job: stage 1 (unless stage-1 weights are given), stage 2, each level landed on its
target, evaluated on real video with the shared weights, and written as layouts, report and summary."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

from ..config import to_dict
from ..errors import BadInput
from ..evaluation import mean_figures
from ..files import atomic_write
from ..reports import RENDERERS, Column, structure_table
from ..reports.cells import quality_cells
from ..reports.console import print_levels
from ..space import layout_file
from ..outer import export_architecture
from ..stage2 import LevelResult, Stage2Net, train_stage2
from ..training import read_stage, set_aside, stage1_checkpoint
from .intra import intra_label
from .job import Job
from .timings import time_levels


#: what stage 2 leaves in its folder, and what the outer search and the verdict build on its weights
STAGE2_FILES = ["checkpoints", "log.csv", "stage.json", "config.yaml"]
STUDY_FILES = ["study.db", "trials.csv", "finetune", "ray"]


def supernet_stages(job: Job, folder: Path) -> Stage2Net:
    """Stage 1 in ``folder/stage1`` (skipped when ``checkpoint=`` gives stage-1 weights), then stage 2
    in ``folder``, both on the job's runtime (device, precision, processes). A stage that has ended
    (``stage.json``) is not trained again, unless ``extend=`` names it."""
    cfg = job.cfg
    meta = {"config": to_dict(cfg)}
    if job.runtime.is_main:
        prepare_extension(job, folder)
    job.runtime.barrier()
    weights = cfg.checkpoint or stage1_checkpoint(job.space, job.clips, cfg.training, cfg.stage1,
                                                  folder / "stage1", seed=cfg.seed, meta=meta,
                                                  runtime=job.runtime, extend=cfg.extend == "stage1")
    return train_stage2(job.space, job.cost, weights, job.targets, job.clips, cfg, folder,
                        seed=cfg.seed, meta=meta, runtime=job.runtime, extend=cfg.extend == "stage2")


def prepare_extension(job: Job, folder: Path) -> None:
    """``extend=stage1|stage2`` on a finished stage: checked (it must have steps or time left to
    train), then what was built on the weights it replaces is set aside in ``previous-<sha>/``: after
    stage 1, stage 2 (trained again from the new stage-1 weights); after either, the study, its
    trials and the verdict's fine-tuning (a new study on the new weights). A kill during the
    extension resumes with the same command, ``extend=`` or not."""
    cfg = job.cfg
    if cfg.extend == "none":
        return
    if cfg.extend == "stage1" and cfg.checkpoint:
        raise BadInput(f"extend=stage1: checkpoint={cfg.checkpoint} gives the stage-1 weights, no stage 1 "
                       f"trains here (extend=stage2 trains stage 2 on)")
    stage = folder / "stage1" if cfg.extend == "stage1" else folder
    record = read_stage(stage)
    if record is None or not record.finished:
        return  # never finished, or already being extended: it resumes from its newest checkpoint
    budget = cfg.stage1 if cfg.extend == "stage1" else cfg.supernet
    if int(budget.steps) <= record.steps:
        key = "stage1_steps" if cfg.extend == "stage1" else "steps"
        raise BadInput(f"extend={cfg.extend}: {stage} finished at step {record.steps}, and {key}="
                       f"{budget.steps} leaves nothing to train: give {key}= above {record.steps}")
    stage2 = read_stage(folder)
    tag = (stage2 or record).weights_sha256[:12]
    moved = []
    if cfg.extend == "stage1":
        moved.append(set_aside(folder, STAGE2_FILES, tag))
    moved.append(set_aside(job.out, STUDY_FILES, tag))
    for target in filter(None, moved):
        print(f"extend={cfg.extend}: what was built on the weights {tag} is kept in {target}")


def video_figures(job: Job, model) -> dict[str, float]:
    """PSNR, MS-SSIM and bpp of ``model`` on the job's test sequences (I-frames included)."""
    return mean_figures(job.evaluate(model))


def evaluate_levels(job: Job, net: Stage2Net, levels: list[LevelResult]
                    ) -> dict[str, float]:
    """PSNR, MS-SSIM and bpp of each landed layout (into its ``metrics``) and of the full decoder
    (returned), through the sliced model with the shared weights (mask decay: the level's merged,
    pruned codec, and the teacher)."""
    if job.cfg.eval.max_gops == 0:
        return {}
    net.codec.set_choices(None)
    original = {}
    for level in [None] + levels:
        model = net.level_codec(level)
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
    return f"P-frames {p_frames}, I-frames {intra_label(job.cfg)} bitstream"


def level_summary(level: LevelResult, key: str = "gmacs") -> dict:
    """A level's figures; ``key`` names its cost (``gmacs``, or ``ms`` under ``objective=latency``)."""
    return {"name": level.name, f"target_{key}": level.target, "interpolated": level.interpolated,
            "vector": level.vector, f"argmax_{key}": level.argmax_value,
            "argmax_distance": (level.argmax_value - level.target) / level.target,
            f"landed_{key}": level.landing.value, "landed_distance": level.landing.distance,
            "reachable": level.landing.reachable, "note": level.landing.note, **level.metrics}


def write_levels(job: Job, levels: list[LevelResult], original: Mapping[str, float]) -> None:
    """``layouts/<level>.yaml``, ``report.md/.tex/.csv`` and ``summary.json`` in the job's folder."""
    space, out = job.space, job.out
    for level in levels:
        stem = level.name.lower().replace(" ", "_")
        layout_file(space, level.layout, job.profile.resolution, job.complexity.gmacs(level.layout),
                    name=level.name).save(out / "layouts" / f"{stem}.yaml")
    source = bpp_source(job)
    columns = [Column("Original", space.full_layout(), quality_cells(original, source))]
    columns += [Column(level.name, level.layout, quality_cells(level.metrics, source))
                for level in levels]
    table = structure_table(space, job.complexity, columns)
    for fmt, render in RENDERERS.items():
        atomic_write(out / f"report.{fmt}", render(table))
    summary = {"levels": [level_summary(level, job.cost.name) for level in levels],
               "original": dict(original)}
    atomic_write(out / "summary.json", json.dumps(summary, indent=1) + "\n")


def export_level_weights(job: Job, net: Stage2Net, levels: list[LevelResult]) -> None:
    """``layouts/<level>.yaml`` and ``weights/<level>.pt`` of each level whose weights are not the
    shared weights' leading channels (mask decay: its merged, pruned codec, its kept channels)."""
    for index, level in enumerate(levels):
        weights = net.export_weights(index)
        if weights is None:
            continue
        stem = level.name.lower().replace(" ", "_")
        export_architecture(job.space, level.layout, weights[0], job.out, stem, job.profile.resolution,
                            job.complexity.gmacs(level.layout),
                            {"selector": job.cfg.supernet.selector,
                             f"target_{job.cost.name}": level.target}, keep=weights[1])


def run_supernet_job(job: Job) -> list[LevelResult]:
    """The whole supernet job in ``job.out``; the landed levels (none on the other processes of a
    distributed run: they only train)."""
    net = supernet_stages(job, job.out)
    if not job.runtime.is_main:
        return []
    levels = net.levels(job.cfg.supernet.tolerance, job.interpolate)
    original = evaluate_levels(job, net, levels)
    original.update(time_levels(job, levels))
    write_levels(job, levels, original)
    export_level_weights(job, net, levels)
    print_levels(levels, job.out, job.cost.unit)
    return levels
