"""The main job: from a space and targets (GMACs, or decode time with ``objective=latency``) to chosen
architectures you can train, and a verdict.

1. The job (:mod:`search.pipeline.job`): the space, its codec and the complexity profile; the targets
   checked against what the space can reach.
2. A supernet: stage 1 (unless ``checkpoint=`` gives stage-1 weights) and stage 2 (cgSlimDecoder) with
   the preset; its levels are landed exactly on the targets.
3. Outer loop (Optuna, or Ray Tune with ``backend=ray``): layouts ranked with the supernet's shared
   weights on the ranking validation batches (each score carries its noise), sampled layouts moved
   into the targets' bands. Per target the supernet's landed level is the answer, unless the band's
   best beats it on fresh decision batches, beyond the 95% interval of their paired difference
   (:func:`search.outer.choose`); reported RD figures come from the decision batches.
4. The verdict (:mod:`search.pipeline.verdict`): each chosen architecture against uniform slimming at
   the chosen cost, both fine-tuned alike from the shared weights and evaluated on the same held-out
   test sequences with coded I-frames; each difference with its bootstrap interval.
5. The run folder: config, profile, summary, structure report, Pareto plots, trials.csv, study.db,
   ``rd_points.csv`` and each chosen architecture as a training config (``layouts/<target>.yaml``,
   ``weights/<target>.pt``: the fine-tuned decoder that was measured).

With several lambdas (``lmbda=[256,512,1024,2048]``) each is a run of its own in ``lambda-<lambda>/``;
the top folder joins them into RD curves (every level, each chosen and uniform architecture) and gives
the BD-rate of chosen against uniform. The same command resumes where it stopped.
"""
from __future__ import annotations

import json
from typing import Any

import pandas as pd

from ..codec import Codec
from ..config import format_resolution
from ..files import atomic_write
from ..nn.layers import load_sliced
from ..data import overlap_with_training
from ..outer import (LayoutScorer, StudyResult, bands_of, export_architecture, load_architecture,
                     run_study, validation_pairs)
from ..outer.scorer import describe_part, validation_overlap
from ..reports import RENDERERS, Column, Point, plot_pareto, structure_table
from ..reports.cells import decoder_cells, verdict_notes
from ..reports.console import print_summary
from ..stage2 import LevelResult
from ..training import codec_at_layout, frames_per_sample, latest_checkpoint, read_stage
from .job import Job
from .stopwatch import Stopwatch
from .timings import cost_figures, objective_record
from .lambdas import join_points
from .supernet_job import bpp_source, supernet_stages, video_figures
from .verdict import Contender, Verdict, finetune_rate, grid_curve, judge, rd_rows, read_curve


def default_out(preset: str, seed: int, lambdas: list[float] = (), objective: str = "gmacs"):
    """``<preset>-<targets>[-lambda<l>..]-seed<seed>`` (targets in ms: ``<preset>-ms<targets>...``):
    the same command finds its folder again."""
    lams = "".join(f"-lambda{v:g}" for v in lambdas)
    unit = "ms" if objective == "latency" else ""
    return lambda targets: f"{preset}-{unit}{'-'.join(f'{t:g}' for t in targets)}{lams}-seed{seed}"


def validation_scorer(job: Job, codec: Codec, part: str) -> LayoutScorer:
    """The shared-weights scorer on the ``rank`` or the ``decide`` validation batches."""
    cfg = job.cfg
    frames = validation_pairs(cfg.data, cfg.outer.val_count, cfg.outer.val_crop or cfg.training.crop,
                              cfg.seed, job.space.codec.MULTIPLE, frames=frames_per_sample(codec, 2),
                              part=part)
    return LayoutScorer(codec, cfg.training.lmbda, frames, cfg.outer.val_batches)


def search_layouts(job: Job, codec: Codec, levels: list[LevelResult]
                   ) -> tuple[LayoutScorer, LayoutScorer, StudyResult]:
    """The outer search: layouts ranked with the shared weights on the ranking batches, each target's
    choice decided (and measured) on the decision batches, which ranked nothing. Returns (ranking
    scorer, decision scorer, study)."""
    cfg = job.cfg
    scorer = validation_scorer(job, codec, "rank")
    decider = validation_scorer(job, codec, "decide")
    trained = [r for r in levels if not r.interpolated]
    bands = bands_of(job.targets, cfg.supernet.tolerance, {r.target: r.landing.value for r in trained})
    study = run_study(scorer, job.space, job.cost, job.targets, job.out, cfg.outer, seed=cfg.seed,
                      supernet_layouts=[(r.name, r.layout) for r in levels], verbose=cfg.verbose,
                      bands=bands, defaults={r.target: r.layout for r in trained},
                      weights_sha256=shared_weights_sha256(job), decide=decider,
                      complexity=job.complexity,
                      extra_objectives=("gmacs",) if cfg.latency.pareto_gmacs else ())
    atomic_write(job.out / "trials.csv", study.trials.to_csv(index=False))
    return scorer, decider, study


def validation_record(job: Job) -> dict[str, Any]:
    """Which validation batches ranked the trials, which decided and measured (``summary.json``)."""
    cfg = job.cfg.outer
    batches = f"{cfg.val_count} crops of {cfg.val_crop or job.cfg.training.crop} px in {cfg.val_batches} batches"
    return {"ranked_on": f"{batches}: {describe_part(job.cfg.data, 'rank')}",
            "decided_on": f"{batches}: {describe_part(job.cfg.data, 'decide')}",
            "figures_from": "the decision batches (rd_loss, rd_noise, margin_vs_level, uniform and original "
                            "RD losses); the ranking batches ordered the trials (trials.csv, pareto.png, "
                            "rank_rd_loss)",
            "overlap_with_training": validation_overlap(job.cfg.data) or "none"}


def held_out_label(job: Job) -> str:
    """``held-out`` when the test sequences share no frame with training, else what overlaps."""
    return overlap_with_training(job.cfg.data, job.cfg.eval.data) or "held-out"


def shared_weights_sha256(job: Job) -> str:
    """The sha256 of the stage-2 checkpoint whose weights score the trials (from its ``stage.json``)."""
    return read_stage(job.out / "supernet").weights_sha256


def original_figures(job: Job, scorer: LayoutScorer, codec: Codec) -> dict[str, Any]:
    """The full decoder with the shared weights, and with its stage-1 weights: stage 2 trains the
    shared weights mostly at the sampled (slimmer) widths, so the stage-1 figures are what the
    original decoder itself achieves."""
    full = job.space.full_layout()
    original = {"gmacs": job.complexity.range_gmacs()[1], "rd_loss": scorer(full).rd_loss,
                **cost_figures(job, full)}
    on_video = job.cfg.eval.max_gops != 0
    if on_video:
        original.update(video_figures(job, codec))
    stage1 = job.cfg.checkpoint or latest_checkpoint(job.out / "supernet" / "stage1" / "checkpoints")
    if stage1:
        model = codec_at_layout(job.space, full, str(stage1))
        original["stage1"] = {"rd_loss": scorer.score_model(model).rd_loss,
                              **(video_figures(job, model) if on_video else {})}
    return original


def export_chosen(job: Job, verdict: Verdict, codec: Codec) -> dict[str, Any]:
    """The chosen architecture as a training config, and its summary; with timing, its decode time is
    measured on the decoder loaded back from the exported files."""
    chosen, side, target = verdict.chosen, verdict.chosen_side, verdict.target
    exported = export_architecture(job.space, chosen.layout, codec, job.out, f"{target:g}",
                                   job.profile.resolution, job.complexity.gmacs(chosen.layout),
                                   extra={f"target_{job.cost.name}": target, "preset": job.cfg.preset,
                                          "lambda": job.cfg.training.lmbda, "rd_loss": chosen.rd_loss,
                                          "finetune_steps": int(job.cfg.outer.finetune_steps or 0),
                                          "finetune_lr": finetune_rate(job)},
                                   model=side.model)
    reloaded = load_architecture(exported.layout_path, exported.weights_path) if job.timing else None
    return {job.cost.name: chosen.cost, "distance": (chosen.cost - target) / target,
            **cost_figures(job, chosen.layout, target, model=reloaded),
            "rd_loss": chosen.rd_loss, "rd_noise": chosen.noise, "measured_on": chosen.measured_on,
            "rank_rd_loss": chosen.rank_rd_loss, "rd_loss_finetuned": side.tuned_rd_loss,
            "trial": chosen.number, "source": chosen.source, "note": chosen.note,
            "margin_vs_level": chosen.margin, "margin_noise": chosen.margin_noise,
            "rivals": chosen.rivals,
            "best_rival_vs_level": chosen.margin_interval.as_dict() if chosen.margin_interval else None,
            "layout_file": str(exported.layout_path.relative_to(job.out)),
            "weights_file": str(exported.weights_path.relative_to(job.out)),
            "weights_are": "the fine-tuned decoder measured here (the shared-weights slice it started "
                           "from: weights/<target>.shared.pt)" if side.model is not None else
                           "the shared weights sliced", **side.figures}


def target_rows(job: Job, verdicts: list[Verdict], codec: Codec) -> list[dict]:
    rows = []
    for target in job.targets:
        verdict = next((v for v in verdicts if v.target == target), None)
        row: dict[str, Any] = {f"target_{job.cost.name}": target}
        if verdict is not None:
            row["chosen"] = export_chosen(job, verdict, codec)
            row.update(verdict.summary())
        rows.append(row)
    return rows


def write_report(job: Job, original: dict, rows: list[dict], verdicts: list[Verdict]) -> None:
    source = bpp_source(job)
    steps = int(job.cfg.outer.finetune_steps or 0)
    columns = [Column("Original", job.space.full_layout(), decoder_cells(original, source))]
    key = f"target_{job.cost.name}"
    for verdict, row in ((v, r) for v in verdicts for r in rows if r[key] == v.target):
        versus = {"chosen_vs_uniform": row.get("chosen_vs_uniform", {})}
        columns.append(Column(f"Chosen @{verdict.target:g}", verdict.chosen.layout,
                              decoder_cells({**row["chosen"], **versus}, source)))
        if verdict.uniform is not None:
            columns.append(Column(f"Uniform @{verdict.target:g}", verdict.uniform.layout,
                                  decoder_cells(row["uniform"], source)))
    table = structure_table(job.space, job.complexity, columns)
    table.notes += verdict_notes(rows, steps, finetune_rate(job), job.cfg.eval.data, held_out_label(job), job.codes_images)
    for fmt, render in RENDERERS.items():
        atomic_write(job.out / f"report.{fmt}", render(table))


def write_plots(job: Job, study: StudyResult, verdicts: list[Verdict],
                curve: list[tuple[str, float, float]]) -> None:
    # the plot shows the ranking batches' figures throughout: the trials', the chosen layouts' and the grid's
    chosen = {t: (study.chosen[t].cost, study.chosen[t].rank_rd_loss) if study.chosen.get(t) else None
              for t in job.targets}
    grid = [Point(name, cost, loss) for name, cost, loss in curve]
    readings = [Point(f"grid at {v.chosen.cost:.3g}", v.chosen.cost, read_curve(curve, v.chosen.cost))
                for v in verdicts]
    plot_pareto(study.trials, job.targets, chosen, grid, job.out / "pareto.png", job.out / "pareto.svg",
                title=f"{job.space.name}: outer search", resolution=format_resolution(job.profile.resolution),
                readings=readings, x=job.cost.name, unit=job.cost.unit)


def summary_of(job: Job, original: dict, rows: list[dict], levels: list[LevelResult],
               study: StudyResult) -> dict:
    low, high = job.complexity.range_gmacs()
    key = job.cost.name
    summary = {"space": job.space.name, "codec": job.space.codec_name, "lambda": job.cfg.training.lmbda,
               "resolution": format_resolution(job.profile.resolution), "range_gmacs": [low, high],
               **objective_record(job), "targets": rows, "original": original,
               "supernet_levels": [{"name": r.name, f"target_{key}": r.target, f"argmax_{key}": r.argmax_value,
                                    f"landed_{key}": r.landing.value, "reachable": r.landing.reachable,
                                    **cost_figures(job, r.layout, r.target)}
                                   for r in levels],
               "trials": int(len(study.trials)), "weights_sha256": shared_weights_sha256(job),
               "finetune_steps": int(job.cfg.outer.finetune_steps or 0), "finetune_lr": finetune_rate(job),
               "test_data": job.cfg.eval.data, "test_data_is": held_out_label(job),
               "bpp_source": bpp_source(job), "validation": validation_record(job),
               "intervals": "chosen_vs_uniform: chosen minus uniform on the test frames, mean over units "
                            "with a paired percentile-bootstrap 95% interval and its verdict word"}
    return summary


def measured(job: Job, verdicts: list[Verdict]) -> str:
    """What the verdict's test figures were measured on, in words."""
    frames = next((v.chosen_side.frames for v in verdicts if v.chosen_side.frames is not None), None)
    if frames is None:
        return "nothing: eval_gops=0 (validation RD losses alone)"
    where = "images" if job.codes_images else "sequences"
    counts = frames.groupby("sequence", sort=False).size()
    shape = " + ".join(f"{name} x {n}" for name, n in counts.items())
    return (f"{len(counts)} test {where} ({shape} frames) of test_data={job.cfg.eval.data} "
            f"({held_out_label(job)}); bpp: {bpp_source(job)}")


def level_sides(job: Job, codec: Codec, levels: list[LevelResult], scorer: LayoutScorer
                ) -> list[Contender]:
    """The supernet levels and the original decoder on the test sequences (shared weights), for the
    RD curves of a run with several lambdas."""
    sides = []
    for name, layout in [("Original", job.space.full_layout())] + [(r.name, r.layout) for r in levels]:
        side = Contender(name, layout, job.cost.of_layout(layout), scorer(layout).rd_loss)
        side.frames = job.evaluate(load_sliced(job.space.codec(layout), codec))
        sides.append(side)
    return sides


def image_rows(sides: list[Contender]) -> pd.DataFrame:
    """Per-image figures of every side, labelled by its layout (an image space's ``images.csv``)."""
    tables = [side.frames.assign(layout=side.label) for side in sides if side.frames is not None]
    if not tables:
        return pd.DataFrame()
    table = pd.concat(tables, ignore_index=True)
    return table[["layout"] + [c for c in table.columns if c != "layout"]]


def run_point(job: Job, with_levels: bool = False) -> dict:
    """The main job at one lambda in ``job.out``; its summary (also ``summary.json``)."""
    job.write_config()
    if job.runtime.is_main:
        atomic_write(job.out / "profile.json", job.profile.to_json() + "\n")
    watch = Stopwatch()
    net = supernet_stages(job, job.out / "supernet")
    if not job.runtime.is_main:  # the other processes of a torchrun job only train
        return {}
    watch.lap("supernet (profile, stage 1, stage 2)")
    levels = net.levels(job.cfg.supernet.tolerance, job.interpolate)
    codec = net.codec.eval()
    job.shared = codec
    ranker, decider, study = search_layouts(job, codec, levels)
    watch.lap("outer search")
    original = original_figures(job, decider, codec)
    curve = grid_curve(job, decider)
    watch.lap("original decoder and uniform grid")
    verdicts = [judge(job, codec, decider, study.chosen[t], curve) for t in job.targets if study.chosen.get(t)]
    watch.lap("verdicts (fine-tuning, test sequences)")
    rows = target_rows(job, verdicts, codec)
    watch.lap("export")
    write_report(job, original, rows, verdicts)
    write_plots(job, study, verdicts, grid_curve(job, ranker))
    sides = [s for v in verdicts for s in (v.chosen_side, v.uniform_side, v.wider_side) if s is not None]
    if with_levels and job.cfg.eval.max_gops != 0:
        sides += level_sides(job, codec, levels, decider)
    points = pd.concat([rd_rows(s) for s in sides], ignore_index=True) if sides else pd.DataFrame()
    atomic_write(job.out / "rd_points.csv", points.to_csv(index=False))
    if job.codes_images:
        atomic_write(job.out / "images.csv", image_rows(sides).to_csv(index=False))
    summary = summary_of(job, original, rows, levels, study)
    summary["measured"] = measured(job, verdicts)
    watch.lap("reports")
    summary["wall_seconds"] = watch.seconds
    atomic_write(job.out / "summary.json", json.dumps(summary, indent=1) + "\n")
    print_summary(summary, job.out)
    return summary


def run_main_job(job: Job) -> dict:
    """The whole main job; with several lambdas, one run per lambda joined into RD curves."""
    if len(job.lambdas) == 1:
        return run_point(job)
    summaries = [run_point(job.at_lambda(lmbda), with_levels=True) for lmbda in job.lambdas]
    return join_points(job, summaries)
