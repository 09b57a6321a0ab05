"""The main job: from a space and GMAC targets to chosen architectures you can train, and a verdict.

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
   the chosen GMACs, both fine-tuned alike from the shared weights and evaluated on the same held-out
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
import math
from pathlib import Path
from typing import Any

import pandas as pd

from ..codec import Codec
from ..config import format_resolution
from ..errors import BadInput
from ..evaluation import bd_table
from ..files import atomic_write
from ..nn.layers import load_sliced
from ..data import overlap_with_training
from ..evaluation.intervals import mean_interval
from ..outer import (LayoutScorer, StudyResult, bands_of, check_outer, export_architecture,
                     run_study, validation_pairs)
from ..outer.scorer import describe_part, validation_overlap
from ..reports import RENDERERS, Column, Point, plot_pareto, structure_table
from ..stage2 import LevelResult, selector_named
from ..training import codec_at_layout, frames_per_sample, latest_checkpoint, read_stage
from .job import Job
from .supernet_job import bpp_source, supernet_stages, video_figures
from .verdict import Contender, Verdict, grid_curve, interval_text, judge, rd_rows, read_curve


def check_search(cfg, space=None) -> None:
    """The outer search's, the verdict's and the export's settings, and (``backend=ray``) the Ray
    cluster, before any training: nothing that trains first may fail on them afterwards."""
    check_outer(cfg.outer)
    check_verdict(cfg, space)
    if not selector_named(cfg.supernet.selector).shares_weights:
        raise BadInput(f"selector={cfg.supernet.selector}: the main job's outer search scores any layout "
                       f"with shared weights, which this selector does not leave; it runs in stage 2 "
                       f"alone (python -m search.supernet ... selector={cfg.supernet.selector})")
    if cfg.outer.backend == "ray":
        from ..outer.ray_backend import check_ray

        check_ray(cfg.outer, cfg.verbose)


def check_verdict(cfg, space=None) -> None:
    """What the outer loop and the verdict read after training: the validation crops and batches, the
    fine-tuning steps and the test sequences (opened now: a missing or unreadable test set is one line
    before training, not after)."""
    crop = cfg.outer.val_crop or cfg.training.crop
    multiple = space.codec.MULTIPLE if space is not None else 1
    if cfg.outer.val_count < 1:
        raise BadInput(f"val_count={cfg.outer.val_count}: expected at least 1 validation pair")
    if crop < 1 or crop % multiple:
        raise BadInput(f"val_crop={crop}: expected a positive multiple of the codec's {multiple}")
    steps = cfg.outer.finetune_steps
    if steps is None or isinstance(steps, bool) or int(steps) != steps or steps < 0:
        raise BadInput(f"finetune_steps={steps!r}: expected a whole number >= 0 (0: no fine-tuning)")
    if cfg.eval.max_gops != 0:
        from ..data import open_test_set
        from ..evaluation import Protocol

        if not open_test_set(cfg.eval.data, Protocol.of(cfg.eval).yuv):
            raise BadInput(f"test_data={cfg.eval.data}: no test sequences")


def default_out(preset: str, seed: int, lambdas: list[float] = ()):
    """``<preset>-<targets>[-lambda<l>..]-seed<seed>``: the same command finds its folder again."""
    lams = "".join(f"-lambda{v:g}" for v in lambdas)
    return lambda targets: f"{preset}-{'-'.join(f'{t:g}' for t in targets)}{lams}-seed{seed}"


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
    bands = bands_of(job.targets, cfg.supernet.tolerance, {r.target: r.landing.gmacs for r in trained})
    study = run_study(scorer, job.space, job.complexity, job.targets, job.out, cfg.outer, seed=cfg.seed,
                      supernet_layouts=[(r.name, r.layout) for r in levels], verbose=cfg.verbose,
                      bands=bands, defaults={r.target: r.layout for r in trained},
                      weights_sha256=shared_weights_sha256(job), decide=decider)
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
    original = {"gmacs": job.complexity.range_gmacs()[1], "rd_loss": scorer(full).rd_loss}
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
    """The chosen architecture as a training config, and its summary."""
    chosen, side, target = verdict.chosen, verdict.chosen_side, verdict.target
    exported = export_architecture(job.space, chosen.layout, codec, job.out, f"{target:g}",
                                   job.profile.resolution, chosen.gmacs,
                                   extra={"target_gmacs": target, "preset": job.cfg.preset,
                                          "lambda": job.cfg.training.lmbda, "rd_loss": chosen.rd_loss,
                                          "finetune_steps": int(job.cfg.outer.finetune_steps or 0)},
                                   model=side.model)
    return {"gmacs": chosen.gmacs, "distance": (chosen.gmacs - target) / target,
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
        row: dict[str, Any] = {"target_gmacs": target}
        if verdict is not None:
            row["chosen"] = export_chosen(job, verdict, codec)
            row.update(verdict.summary())
        rows.append(row)
    return rows


#: the report's rows of the chosen-vs-uniform differences (summary key, label, digits)
VERSUS_ROWS = (("psnr_db", "chosen - uniform, PSNR (dB)", 3), ("bpp", "chosen - uniform, bpp", 4),
               ("rd_loss", "chosen - uniform, RD loss (test)", 3))


def _cells(metrics: dict, source: str, suffix: str = "") -> dict[str, str]:
    """Metric rows of a report column; ``stage1`` (the original's stage-1 weights) adds its own."""
    cells = {f"RD loss (validation, shared weights){suffix}": f"{metrics['rd_loss']:.4f}"}
    if math.isfinite(metrics.get("rd_noise", float("nan"))):
        cells["RD loss noise (standard error)"] = f"{metrics['rd_noise']:.4f}"
    if math.isfinite(metrics.get("rd_loss_finetuned", float("nan"))):
        cells["RD loss (validation, after fine-tuning)"] = f"{metrics['rd_loss_finetuned']:.4f}"
    if "width" in metrics:
        cells["uniform width factor"] = f"{metrics['width']:.3f}" + ("" if metrics["on_grid"] else " (off grid)")
    for key, label, digits in (("psnr", "PSNR (dB)", 3), ("ms_ssim", "MS-SSIM", 4), ("bpp", f"bpp ({source})", 4)):
        if key in metrics:
            cells[f"{label}{suffix}"] = f"{metrics[key]:.{digits}f}"
    if "stage1" in metrics:
        cells.update(_cells(metrics["stage1"], source, ", stage-1 weights"))
    for key, label, digits in VERSUS_ROWS:
        if key in metrics.get("chosen_vs_uniform", {}):
            cells[label] = interval_text(metrics["chosen_vs_uniform"][key], digits)
    return cells


def write_report(job: Job, original: dict, rows: list[dict], verdicts: list[Verdict]) -> None:
    source = bpp_source(job)
    steps = int(job.cfg.outer.finetune_steps or 0)
    columns = [Column("Original", job.space.full_layout(), _cells(original, source))]
    for verdict, row in ((v, r) for v in verdicts for r in rows if r["target_gmacs"] == v.target):
        versus = {"chosen_vs_uniform": row.get("chosen_vs_uniform", {})}
        columns.append(Column(f"Chosen @{verdict.target:g}", verdict.chosen.layout,
                              _cells({**row["chosen"], **versus}, source)))
        if verdict.uniform is not None:
            columns.append(Column(f"Uniform @{verdict.target:g}", verdict.uniform.layout,
                                  _cells(row["uniform"], source)))
    table = structure_table(job.space, job.complexity, columns)
    table.notes.append(f"Chosen and Uniform columns: PSNR, MS-SSIM and bpp after {steps} fine-tuning "
                       f"steps from the shared weights, on the test "
                       f"{'images' if job.codes_images else 'sequences'} ({job.cfg.eval.data}: "
                       f"{held_out_label(job)}); Uniform is one width factor for every searchable layer "
                       f"at the chosen decoder's GMACs (read between two uniform layouts where one factor "
                       f"stops more than 1% below). Validation RD losses: the decision batches, which "
                       f"did not rank the trials. 'chosen - uniform' rows: mean over test units with a "
                       f"paired bootstrap 95% interval and its verdict.")
    for row in rows:
        if "chosen" in row:
            table.notes.append(f"@{row['target_gmacs']:g}: {row['chosen']['note']}.")
        for key in ("note", "read_between"):
            if row.get("uniform", {}).get(key):
                table.notes.append(f"@{row['target_gmacs']:g}, uniform: {row['uniform'][key]}.")
    for fmt, render in RENDERERS.items():
        atomic_write(job.out / f"report.{fmt}", render(table))


def write_plots(job: Job, study: StudyResult, verdicts: list[Verdict],
                curve: list[tuple[str, float, float]]) -> None:
    # the plot shows the ranking batches' figures throughout: the trials', the chosen layouts' and the grid's
    chosen = {t: (study.chosen[t].gmacs, study.chosen[t].rank_rd_loss) if study.chosen.get(t) else None
              for t in job.targets}
    grid = [Point(name, gmacs, loss) for name, gmacs, loss in curve]
    readings = [Point(f"grid at {v.chosen.gmacs:.3g}", v.chosen.gmacs, read_curve(curve, v.chosen.gmacs))
                for v in verdicts]
    plot_pareto(study.trials, job.targets, chosen, grid, job.out / "pareto.png", job.out / "pareto.svg",
                title=f"{job.space.name}: outer search", resolution=format_resolution(job.profile.resolution),
                readings=readings)


def summary_of(job: Job, original: dict, rows: list[dict], levels: list[LevelResult],
               study: StudyResult) -> dict:
    low, high = job.complexity.range_gmacs()
    return {"space": job.space.name, "codec": job.space.codec_name, "lambda": job.cfg.training.lmbda,
            "resolution": format_resolution(job.profile.resolution), "range_gmacs": [low, high],
            "targets": rows, "original": original,
            "supernet_levels": [{"name": r.name, "target_gmacs": r.target, "argmax_gmacs": r.argmax_gmacs,
                                 "landed_gmacs": r.landing.gmacs, "reachable": r.landing.reachable}
                                for r in levels],
            "trials": int(len(study.trials)), "weights_sha256": shared_weights_sha256(job),
            "finetune_steps": int(job.cfg.outer.finetune_steps or 0),
            "test_data": job.cfg.eval.data, "test_data_is": held_out_label(job), "bpp_source": bpp_source(job),
            "validation": validation_record(job),
            "intervals": "chosen_vs_uniform: chosen minus uniform on the test frames, mean over units with a "
                         "paired percentile-bootstrap 95% interval and its verdict word"}


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
        side = Contender(name, layout, job.complexity.gmacs(layout), scorer(layout).rd_loss)
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
    net = supernet_stages(job, job.out / "supernet")
    if not job.runtime.is_main:  # the other processes of a torchrun job only train
        return {}
    levels = net.levels(job.cfg.supernet.tolerance, job.interpolate)
    codec = net.codec.eval()
    ranker, decider, study = search_layouts(job, codec, levels)
    original = original_figures(job, decider, codec)
    curve = grid_curve(job, decider)
    verdicts = [judge(job, codec, decider, study.chosen[t], curve) for t in job.targets if study.chosen.get(t)]
    rows = target_rows(job, verdicts, codec)
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
    atomic_write(job.out / "summary.json", json.dumps(summary, indent=1) + "\n")
    print_summary(summary, job.out)
    return summary


def run_main_job(job: Job) -> dict:
    """The whole main job; with several lambdas, one run per lambda joined into RD curves."""
    if len(job.lambdas) == 1:
        return run_point(job)
    summaries = [run_point(job.at_lambda(lmbda), with_levels=True) for lmbda in job.lambdas]
    return join_points(job, summaries)


def join_points(job: Job, summaries: list[dict]) -> dict:
    """``rd_points.csv`` of every lambda, and per target the BD figures of chosen against uniform."""
    points = pd.concat([pd.read_csv(job.at_lambda(v).out / "rd_points.csv") for v in job.lambdas],
                       ignore_index=True)
    atomic_write(job.out / "rd_points.csv", points.to_csv(index=False))
    targets = []
    for target in job.targets:
        chosen = points[points["layout"] == f"Chosen @{target:g}"].drop(columns="layout")
        uniform = points[points["layout"] == f"Uniform @{target:g}"].drop(columns="layout")
        row: dict[str, Any] = {"target_gmacs": target, "per_lambda": [
            {"lambda": s["lambda"], **{k: v for k, v in r.items() if k != "target_gmacs"}}
            for s in summaries for r in s["targets"] if r["target_gmacs"] == target]}
        if not chosen.empty and not uniform.empty and chosen["lambda"].nunique() > 1:
            row.update(bd_versus_uniform(uniform, chosen, job.cfg.seed))
        trials = {r["chosen"]["trial"] for r in row["per_lambda"] if "chosen" in r}
        if len(trials) > 1:
            row["curve_note"] = (f"the chosen curve joins {len(trials)} architectures (one chosen per lambda, "
                                 f"each lambda its own supernet and search): a curve of decisions, not of one "
                                 f"decoder")
        targets.append(row)
    summary = {"space": job.space.name, "codec": job.space.codec_name, "lambdas": job.lambdas,
               "targets": targets, "points": [f"lambda-{v:g}/summary.json" for v in job.lambdas]}
    atomic_write(job.out / "summary.json", json.dumps(summary, indent=1) + "\n")
    for row in targets:
        if row.get("bd_rate_vs_uniform") is not None:
            print(f"@{row['target_gmacs']:g}: chosen against uniform at the chosen GMACs: BD-rate "
                  f"{interval_text(row['bd_rate_interval'], 2)} %, BD-PSNR "
                  f"{interval_text(row['bd_psnr_interval'])} dB (over {row['bd_units']})"
                  + (f"; {row['curve_note']}" if row.get("curve_note") else ""))
    print(f"results: {job.out} (python -m search.compare {job.out} for every curve)")
    return summary


def bd_versus_uniform(uniform: pd.DataFrame, chosen: pd.DataFrame, seed: int = 0) -> dict[str, Any]:
    """BD-rate and BD-PSNR of the chosen curve against uniform slimming's (the mean over classes), each
    with a percentile-bootstrap 95% interval of the mean over the sequences' own BD figures; or, where
    the curves do not allow BD figures (too few points, no overlap in quality), why not."""
    try:
        table = bd_table(uniform, chosen, "psnr", names=("uniform", "chosen"))
    except BadInput as exc:
        print(f"note: {exc}")
        return {"bd_rate_vs_uniform": None, "bd_note": str(exc)}
    overall = table.iloc[-1]
    sequences = table[~table["sequence"].isin(["(class mean)", ""])]
    return {"bd_rate_vs_uniform": float(overall["bd_rate"]), "bd_psnr_vs_uniform": float(overall["bd_quality"]),
            "bd_units": f"{len(sequences)} sequences",
            "bd_rate_interval": mean_interval(sequences["bd_rate"], lower_is_better=True, seed=seed).as_dict(),
            "bd_psnr_interval": mean_interval(sequences["bd_quality"], lower_is_better=False,
                                              seed=seed).as_dict()}


def print_summary(summary: dict, out: Path) -> None:
    original = summary["original"]
    print(f"\n{summary['space']} @ {summary['resolution']}, lambda {summary['lambda']:g}: original decoder "
          f"{summary['range_gmacs'][1]:.3f} GMACs, RD loss {original['rd_loss']:.4f}"
          + (f", PSNR {original['psnr']:.2f} dB, bpp {original['bpp']:.4f}" if "psnr" in original else "")
          + " (shared supernet weights)")
    print(f"{'target':>9} | {'chosen GMACs':>12} {'dist':>7} {'PSNR':>7} {'bpp':>7} | "
          f"{'uniform GMACs':>13} {'width':>6} {'PSNR':>7} {'bpp':>7} | chosen - uniform, PSNR dB "
          f"[95%]   (fine-tuned {summary['finetune_steps']} steps each)")
    for row in summary["targets"]:
        c, u = row.get("chosen"), row.get("uniform")
        left = (f"{c['gmacs']:>12.3f} {100 * c['distance']:>6.2f}% {c.get('psnr', float('nan')):>7.2f} "
                f"{c.get('bpp', float('nan')):>7.4f}" if c else f"{'no feasible trial':>36}")
        right = (f"{u['gmacs']:>13.3f} {u['width']:>6.3f} {u.get('psnr', float('nan')):>7.2f} "
                 f"{u.get('bpp', float('nan')):>7.4f}" if u else f"{'none':>36}")
        versus = row.get("chosen_vs_uniform", {})
        diff = interval_text(versus["psnr_db"]) if "psnr_db" in versus else "-"
        print(f"{row['target_gmacs']:>9.3f} | {left} | {right} | {diff}")
    for row in summary["targets"]:
        versus = row.get("chosen_vs_uniform", {})
        if "bpp" in versus:
            print(f"@{row['target_gmacs']:g}: chosen - uniform: bpp {interval_text(versus['bpp'], 4)}, RD loss "
                  f"{interval_text(versus['rd_loss'])} (over {versus['units']})")
    print(f"measured: {summary['measured']}")
    print(f"validation: ranked on {summary['validation']['ranked_on']}; decided and measured on "
          f"{summary['validation']['decided_on']}")
    print(f"results: {out}")
