"""Bjontegaard deltas of RD curves, with the ``bjontegaard`` package.

BD-rate: the average rate difference at equal quality (negative: the test curve needs fewer bits);
BD-PSNR / BD-MS-SSIM: the average quality difference at equal rate. Per sequence (each curve one RD
point per lambda), then averaged per class (mean over its sequences) and overall (mean over classes).
"""
from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import BadInput

METHOD = "akima"
#: what ``bd_quality`` means for each metric
QUALITY = {"psnr": "BD-PSNR (dB)", "ms_ssim": "BD-MS-SSIM"}


def bd_pair(rate_anchor: Sequence[float], quality_anchor: Sequence[float], rate_test: Sequence[float],
            quality_test: Sequence[float], method: str = METHOD, where: str = "") -> tuple[float, float]:
    """(BD-rate in %, BD-quality) of the test curve against the anchor curve."""
    import bjontegaard as bd

    for name, rates in (("anchor", rate_anchor), ("test", rate_test)):
        if len(rates) < 2:
            raise BadInput(f"{where}: the {name} curve has {len(rates)} RD point(s); BD figures need "
                           f"at least 2 (one checkpoint per lambda)")
    args = [np.asarray(v, dtype=float) for v in (rate_anchor, quality_anchor, rate_test, quality_test)]
    order = [np.argsort(args[0]), np.argsort(args[2])]
    args = [args[0][order[0]], args[1][order[0]], args[2][order[1]], args[3][order[1]]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rate = bd.bd_rate(*args, method=method, require_matching_points=False)
        quality = bd.bd_psnr(*args, method=method, require_matching_points=False)
    if not (np.isfinite(rate) and np.isfinite(quality)):
        raise BadInput(f"{where}: the RD curves do not overlap in quality; no BD figures (anchor "
                       f"{min(args[1]):.3f}..{max(args[1]):.3f}, test {min(args[3]):.3f}..{max(args[3]):.3f})")
    return float(rate), float(quality)


def bd_table(anchor: pd.DataFrame, test: pd.DataFrame, metric: str = "psnr", method: str = METHOD,
             names: tuple[str, str] = ("anchor", "test")) -> pd.DataFrame:
    """BD figures of ``test`` against ``anchor`` per sequence they share (per-sequence tables with a
    ``lambda`` column: one RD point per lambda), then per class and overall."""
    rows = []
    for (group, sequence), a in anchor.groupby(["class", "sequence"], sort=False):
        t = test[(test["class"] == group) & (test["sequence"] == sequence)]
        if t.empty:
            continue
        where = f"{names[1]} against {names[0]}, {sequence} ({metric})"
        rate, quality = bd_pair(a["bpp"], a[metric], t["bpp"], t[metric], method, where)
        rows.append({"class": group, "sequence": sequence, "bd_rate": rate, "bd_quality": quality})
    if not rows:
        raise BadInput(f"{names[1]} and {names[0]} share no sequence: nothing to compare")
    table = pd.DataFrame(rows)
    classes = table.groupby("class", sort=False)[["bd_rate", "bd_quality"]].mean().reset_index()
    classes["sequence"] = "(class mean)"
    total = classes[["bd_rate", "bd_quality"]].mean().to_frame().T
    total["class"], total["sequence"] = "(mean over classes)", ""
    out = pd.concat([table, classes, total], ignore_index=True)
    out.insert(0, "metric", metric)
    out.insert(0, "anchor", names[0])
    out.insert(0, "test", names[1])
    return out
