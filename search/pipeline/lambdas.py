"""A main job with several lambdas: each lambda is a run of its own (``lambda-<lambda>/``); the top
folder joins their RD points into curves and gives, per target, the BD-rate and BD-PSNR of the chosen
architectures' curve against uniform slimming's, each with its bootstrap interval over sequences."""
from __future__ import annotations

import json
from typing import Any

import pandas as pd

from ..errors import BadInput
from ..evaluation import bd_table
from ..evaluation.intervals import mean_interval
from ..files import atomic_write
from ..reports.console import print_bd_versus_uniform
from .job import Job


def join_points(job: Job, summaries: list[dict]) -> dict:
    """``rd_points.csv`` of every lambda, and per target the BD figures of chosen against uniform."""
    points = pd.concat([pd.read_csv(job.at_lambda(v).out / "rd_points.csv") for v in job.lambdas],
                       ignore_index=True)
    atomic_write(job.out / "rd_points.csv", points.to_csv(index=False))
    targets = []
    for target in job.targets:
        chosen = points[points["layout"] == f"Chosen @{target:g}"].drop(columns="layout")
        uniform = points[points["layout"] == f"Uniform @{target:g}"].drop(columns="layout")
        key = f"target_{job.cost.name}"
        row: dict[str, Any] = {key: target, "per_lambda": [
            {"lambda": s["lambda"], **{k: v for k, v in r.items() if k != key}}
            for s in summaries for r in s["targets"] if r[key] == target]}
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
    print_bd_versus_uniform(targets, job.out)
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

