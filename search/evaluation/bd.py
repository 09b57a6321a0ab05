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
    args = [*_distinct(rate_anchor, quality_anchor), *_distinct(rate_test, quality_test)]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rate = bd.bd_rate(*args, method=method, require_matching_points=False)
            quality = bd.bd_psnr(*args, method=method, require_matching_points=False)
    except (ValueError, AssertionError) as err:  # the package's checks of a curve's shape
        raise BadInput(f"{where}: no BD figures ({err}); a curve's quality must rise with its rate "
                       f"(anchor {np.round(args[1], 3).tolist()}, test {np.round(args[3], 3).tolist()})"
                       ) from None
    if not (np.isfinite(rate) and np.isfinite(quality)):
        raise BadInput(f"{where}: the RD curves do not overlap in quality; no BD figures (anchor "
                       f"{min(args[1]):.3f}..{max(args[1]):.3f}, test {min(args[3]):.3f}..{max(args[3]):.3f})")
    return float(rate), float(quality)


def _distinct(rates: Sequence[float], qualities: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """A curve's operating points ordered by rate: a point whose quality is not above that of every
    point of lower rate (more bits for no better quality: e.g. JPEG quality 2 against 1, the same file)
    is not one, and is left out."""
    points = np.unique(np.stack([np.asarray(rates, dtype=float), np.asarray(qualities, dtype=float)], 1),
                       axis=0)
    best = np.maximum.accumulate(points[:, 1])
    keep = np.concatenate([[True], points[1:, 1] > best[:-1]])
    return points[keep, 0], points[keep, 1]


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
