"""``python -m search.run space=fvc target_gmacs=[300,200,120]``: from a space and targets to chosen
architectures you can train.

1. Load the space, its codec and the complexity profile; check the targets against what the space can
   reach.
2. Get a supernet: stage 1 (unless ``checkpoint=`` gives stage-1 weights) and stage 2 (cgSlimDecoder)
   with the preset; its levels are landed exactly on the targets.
3. Outer loop (Optuna, or Ray Tune with ``backend=ray``): layouts scored with the supernet's shared
   weights, GMACs and RD loss minimised, each target a constraint; the landed levels and the
   uniform-slimming layouts are the first trials. Per target, the chosen architecture is the feasible
   trial with the lowest RD loss.
4. The run folder: config, profile, summary, structure report (Original, each target's chosen layout
   and the uniform-slimming layout nearest below it, with GMACs, RD loss, PSNR and bpp), Pareto plots,
   trials.csv, study.db, and each chosen architecture as a training config (``layouts/<target>.yaml``,
   ``weights/<target>.pt``).

The same command with the same ``out=`` resumes: stage 1, stage 2 and the study each continue where
they stopped.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Optional

import torch
from omegaconf import OmegaConf

from .checkpoint import latest_checkpoint
from .cli import argv, normalise, option, parse
from .codec import ROOT
from .complexity import PROFILE_DIR, Complexity, format_resolution, load_or_measure, parse_resolution
from .data import Clips, EvalSequences
from .errors import BadInput, cli_main
from .eval import evaluate, model_for
from .export import export_architecture
from .outer import LayoutScorer, run_study, validation_pairs
from .pareto import Point, plot_pareto
from .slim import load_sliced
from .space import Space, load_space
from .supernet import SupernetConfig, check_targets, train_supernet
from .tables import RENDERERS, Column, structure_table
from .train import resolve, TrainConfig
from .yamlio import atomic_write


#: seconds of stage 1 and stage 2 within the quick preset's 10-minute run (each stage alone may take
#: the preset's 270 s when run by itself)
QUICK_BUDGET = {"stage1": 150.0, "stage2": 210.0}


@dataclass
class RunConfig(SupernetConfig):
    trials: int = option(60, "outer-loop trials in all (a resumed run counts the finished ones)")
    backend: str = option("optuna", "optuna (in process) or ray (Ray Tune's OptunaSearch)")
    sampler: str = option("tpe", "Optuna sampler: tpe, nsga2 or random")
    cpus: int = option(1, "Ray: CPUs of the local instance (one trial per CPU)")
    ray_address: Optional[str] = option(None, "Ray: address of an existing cluster (host:port)")
    val_count: int = option(4, "validation frame pairs that score each trial")
    val_crop: Optional[int] = option(None, "validation crop (the training crop if unset)")


def default_out(cfg: RunConfig, space: Space, targets: list[float]) -> Path:
    """Deterministic, so that the same command finds its own folder again and resumes."""
    name = f"{cfg.preset}-{'-'.join(f'{t:g}' for t in targets)}-seed{cfg.seed}"
    return ROOT / "results" / space.name / name


def uniform_below(space: Space, complexity: Complexity, target: float) -> tuple[str, dict[str, int]] | None:
    """The uniform-slimming layout (every choice at the same option) with the most GMACs <= target."""
    count = max(space.group_sizes, default=1)
    candidates = [(f"uniform {i + 1}/{count}", space.uniform_layout(i)) for i in range(count)]
    below = [(n, lay) for n, lay in candidates if complexity.gmacs(lay) <= target]
    return max(below, key=lambda item: complexity.gmacs(item[1])) if below else None


def _metrics(model, sequences, bitstream: bool) -> dict[str, float]:
    frame = evaluate(model, sequences, bitstream, progress=False)
    return {"psnr": float(frame["psnr"].mean()), "bpp": float(frame["bpp"].mean())}


@cli_main
def main(args: list[str] | None = None) -> int:
    words = normalise(argv() if args is None else args, list_keys=("target_gmacs", "interpolate"))
    cfg = parse(RunConfig, words, "search.run", __doc__.strip().split("\n\n")[0])
    if cfg.trials < 1:
        raise BadInput(f"trials={cfg.trials}: must be >= 1")
    if cfg.backend not in ("optuna", "ray"):
        raise BadInput(f"backend={cfg.backend!r}: expected optuna or ray")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    resolution = parse_resolution(cfg.resolution)
    space = load_space(cfg.space)
    profile = load_or_measure(space, resolution, PROFILE_DIR)
    complexity = Complexity(profile, space)
    low, high = complexity.range_gmacs()
    targets = check_targets([float(t) for t in cfg.target_gmacs], low, high)
    settings = resolve(TrainConfig(space=cfg.space, preset=cfg.preset, lmbda=cfg.lmbda, crop=cfg.crop))
    out = Path(cfg.out) if cfg.out else default_out(cfg, space, targets)
    atomic_write(out / "config.yaml", OmegaConf.to_yaml(OmegaConf.structured(cfg)))
    atomic_write(out / "profile.json", profile.to_json() + "\n")

    # -- supernet (stage 1 + 2) -------------------------------------------------------------------
    sub = SupernetConfig(**{f.name: getattr(cfg, f.name) for f in fields(SupernetConfig)})
    if cfg.preset == "quick":  # the whole job fits 10 minutes on 2 cores: split the time budget
        sub.stage1_time_limit = QUICK_BUDGET["stage1"] if sub.stage1_time_limit is None else sub.stage1_time_limit
        sub.time_limit = QUICK_BUDGET["stage2"] if sub.time_limit is None else sub.time_limit
    sub.out, sub.target_gmacs = str(out / "supernet"), targets
    net, levels, _ = train_supernet(sub)
    codec = net.codec.eval()

    # -- outer loop -------------------------------------------------------------------------------
    frames = validation_pairs(cfg.data, cfg.val_count, cfg.val_crop or settings.crop, cfg.seed,
                              space.codec.MULTIPLE)
    scorer = LayoutScorer(codec, settings.lmbda, frames)
    study = run_study(scorer, space, complexity, targets, out, trials=cfg.trials, seed=cfg.seed,
                      supernet_layouts=[(r.name, r.layout) for r in levels], backend=cfg.backend,
                      sampler=cfg.sampler, cpus=cfg.cpus, ray_address=cfg.ray_address)
    atomic_write(out / "trials.csv", study.trials.to_csv(index=False))

    # -- chosen architectures, uniform baselines, evaluation on real video ------------------------
    sequences = EvalSequences(Clips(cfg.data, max_frames=max(cfg.eval_gops, 1) * cfg.eval_gop_size),
                              cfg.eval_gop_size, max(cfg.eval_gops, 1))
    evaluate_video = cfg.eval_gops > 0
    full = space.full_layout()
    original = {"gmacs": high, "rd_loss": scorer(full).rd_loss,
                **(_metrics(codec, sequences, cfg.bitstream) if evaluate_video else {})}
    # Stage 2 trains the shared weights mostly at the sampled (slimmer) widths, so the full width
    # also gets the stage-1 weights' figures: what the original decoder itself achieves.
    stage1 = cfg.checkpoint or latest_checkpoint(out / "supernet" / "stage1" / "checkpoints")
    if stage1:
        stage1_model = model_for(space, full, str(stage1))
        original["stage1"] = {"rd_loss": scorer.score_model(stage1_model).rd_loss,
                              **(_metrics(stage1_model, sequences, cfg.bitstream)
                                 if evaluate_video else {})}
    rows, columns, uniform_points = [], [], []
    for target in targets:
        chosen = study.chosen.get(target)
        row = {"target_gmacs": target}
        if chosen is not None:
            exported = export_architecture(space, chosen.layout, codec, out, f"{target:g}", resolution,
                                           chosen.gmacs, extra={"target_gmacs": target,
                                                                "preset": cfg.preset,
                                                                "lambda": settings.lmbda,
                                                                "rd_loss": chosen.rd_loss})
            model = load_sliced(space.codec(chosen.layout), codec)
            row["chosen"] = {"gmacs": chosen.gmacs, "distance": (chosen.gmacs - target) / target,
                             "rd_loss": chosen.rd_loss, "trial": chosen.number, "source": chosen.source,
                             "layout_file": str(exported.layout_path.relative_to(out)),
                             "weights_file": str(exported.weights_path.relative_to(out)),
                             **(_metrics(model, sequences, cfg.bitstream) if evaluate_video else {})}
            columns.append(Column(f"Chosen @{target:g}", chosen.layout, {}))
        baseline = uniform_below(space, complexity, target)
        if baseline is not None:
            name, layout = baseline
            model = load_sliced(space.codec(layout), codec)
            row["uniform"] = {"name": name, "gmacs": complexity.gmacs(layout),
                              "rd_loss": scorer(layout).rd_loss,
                              **(_metrics(model, sequences, cfg.bitstream) if evaluate_video else {})}
            if all(point.label != name for point in uniform_points):
                uniform_points.append(Point(name, row["uniform"]["gmacs"], row["uniform"]["rd_loss"]))
            columns.append(Column(f"Uniform @{target:g}", layout, {}))
        rows.append(row)

    # -- report, plots, summary ---------------------------------------------------------------------
    source = "bitstream" if cfg.bitstream else "likelihood"
    by_name = {"Original": original}
    for row in rows:
        if "chosen" in row:
            by_name[f"Chosen @{row['target_gmacs']:g}"] = row["chosen"]
        if "uniform" in row:
            by_name[f"Uniform @{row['target_gmacs']:g}"] = row["uniform"]
    report_columns = [Column("Original", full, _cells(original, source))]
    report_columns += [Column(c.name, c.layout, _cells(by_name[c.name], source)) for c in columns]
    table = structure_table(space, complexity, report_columns)
    for fmt, render in RENDERERS.items():
        atomic_write(out / f"report.{fmt}", render(table))
    chosen_points = {t: (study.chosen[t].gmacs, study.chosen[t].rd_loss) if study.chosen.get(t) else None
                     for t in targets}
    plot_pareto(study.trials, targets, chosen_points, uniform_points, out / "pareto.png",
                out / "pareto.svg", title=f"{space.name}: outer search",
                resolution=format_resolution(resolution))
    summary = {"space": space.name, "codec": space.codec_name, "resolution": format_resolution(resolution),
               "range_gmacs": [low, high], "targets": rows, "original": original,
               "supernet_levels": [{"name": r.name, "target_gmacs": r.target,
                                    "argmax_gmacs": r.argmax_gmacs, "landed_gmacs": r.landing.gmacs}
                                   for r in levels],
               "trials": int(len(study.trials)), "bpp_source": source}
    atomic_write(out / "summary.json", json.dumps(summary, indent=1) + "\n")
    print_summary(summary, out)
    return 0


def _cells(metrics: dict, source: str, suffix: str = "") -> dict[str, str]:
    """Metric rows of a report column (shared supernet weights; ``stage1`` adds its own rows)."""
    cells = {f"RD loss (validation){suffix}": f"{metrics['rd_loss']:.4f}"}
    if "psnr" in metrics:
        cells[f"PSNR (dB){suffix}"] = f"{metrics['psnr']:.3f}"
        cells[f"bpp ({source}){suffix}"] = f"{metrics['bpp']:.4f}"
    if "stage1" in metrics:
        cells.update(_cells(metrics["stage1"], source, ", stage-1 weights"))
    return cells


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


if __name__ == "__main__":
    main()
