"""The comparison job: BD-rate and BD-PSNR / BD-MS-SSIM between RD curves, with their intervals.

Inputs are the outputs of ``python -m search.eval`` or ``python -m search.anchors`` (``frames.csv``,
``sequences.csv`` or their folder: one curve, one RD point per lambda or quality setting) or the folder
of a main job run with several lambdas (``rd_points.csv``: a curve per layout). The first input is the
anchor: every curve of the others is compared with it. A main job's folder alone compares its own
curves: every supernet level with the original full decoder, each target's chosen architecture with
the uniform slimming at the same GMACs.

Every figure comes with a bootstrap interval (:mod:`search.evaluation.intervals`): over the sequences
(or images) the curves share, paired; over the GOPs (or images) of a single sequence when there is only
one, recomputing both GOP-resampled RD curves each time; and over seeds when several inputs are the same
run at different seeds (folders whose names differ only in ``seed<N>``, or ``seeds=[0,1,2]`` with one
such folder): seeds x sequences, resampled independently. Besides BD-rate and BD-quality, the quality
difference at matched bpp: each test point's quality minus the anchor curve's at the same bpp
(interpolated in log bpp, within the anchor's bpp range), averaged per sequence.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ..config import CompareConfig
from ..errors import BadInput
from ..evaluation import bd_pair, bd_table, point_column
from ..evaluation.intervals import Interval, bootstrap, grid_interval
from ..files import atomic_write
from ..reports import plot_rd
from .curves import Pair, comparisons, expand_seeds

#: the figures of a comparison: (column, lower is better)
FIGURES = (("bd_rate", True), ("bd_quality", False), ("d_quality_at_bpp", False))


# -- figures per sequence ---------------------------------------------------------------------------

def quality_at_bpp(anchor: pd.DataFrame, test: pd.DataFrame, metric: str) -> float:
    """Mean over the test points within the anchor's bpp range of (test quality - anchor quality at the
    same bpp, interpolated linearly in log bpp); NaN when no test point lies in that range."""
    a = anchor.sort_values("bpp")
    x, y = np.log(a["bpp"].to_numpy(float)), a[metric].to_numpy(float)
    t = np.log(test["bpp"].to_numpy(float))
    inside = (t >= x.min()) & (t <= x.max())
    if not inside.any():
        return float("nan")
    return float(np.mean(test[metric].to_numpy(float)[inside] - np.interp(t[inside], x, y)))


def sequence_figures(pair: Pair, metric: str, method: str) -> list[pd.DataFrame]:
    """Per seed, one row per shared sequence: class, sequence, BD-rate, BD-quality, the difference at
    matched bpp."""
    tables = []
    for anchor, test in pair.runs:
        table = bd_table(anchor.sequences, test.sequences, metric, method, (pair.anchor, pair.test))
        table = table[~table["sequence"].isin(["(class mean)", ""])].copy()
        table["d_quality_at_bpp"] = [
            quality_at_bpp(_rows(anchor.sequences, g, s), _rows(test.sequences, g, s), metric)
            for g, s in zip(table["class"], table["sequence"])]
        tables.append(table[["class", "sequence", "bd_rate", "bd_quality", "d_quality_at_bpp"]])
    return tables


def _rows(table: pd.DataFrame, group: str, sequence: str) -> pd.DataFrame:
    return table[(table["class"] == group) & (table["sequence"] == sequence)]


# -- intervals ----------------------------------------------------------------------------------------

def grid_of(tables: list[pd.DataFrame], column: str) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """Seeds x sequences values of ``column`` (NaN where a seed lacks a sequence) and the sequences."""
    keys = list(dict.fromkeys(k for t in tables for k in zip(t["class"], t["sequence"])))
    grid = np.full((len(tables), len(keys)), np.nan)
    for i, t in enumerate(tables):
        for g, s, v in zip(t["class"], t["sequence"], t[column]):
            grid[i, keys.index((g, s))] = v
    return grid, keys


def class_weights(keys: list[tuple[str, str]]) -> np.ndarray:
    """Weights that make a weighted mean over sequences the mean over classes of class means."""
    counts = pd.Series([g for g, _ in keys]).value_counts()
    return np.array([1.0 / (len(counts) * counts[g]) for g, _ in keys])


def gop_statistic(pair: Pair, metric: str, method: str, column: str, key: tuple[str, str]
                  ) -> tuple[Callable[[np.ndarray], float], int] | None:
    """For the single sequence ``key`` with per-frame tables on both sides: the statistic over
    resampled GOP indices (both RD curves recomputed from the same GOPs, paired) and the number of
    GOPs; None when there is nothing to resample."""
    anchor, test = pair.runs[0]
    if anchor.frames is None or test.frames is None:
        return None
    a, t = (GopSums.of(_rows(c.frames, *key), metric) for c in (anchor, test))
    count = min(a.gops, t.gops)  # GOPs are paired by their index in the sequence
    if count < 2:
        return None

    def statistic(idx: np.ndarray) -> float:
        weights = np.bincount(idx, minlength=count)
        ca, ct = a.curve(weights, metric), t.curve(weights, metric)
        if column == "d_quality_at_bpp":
            return quality_at_bpp(ca, ct, metric)
        try:
            rate, quality = bd_pair(ca["bpp"], ca[metric], ct["bpp"], ct[metric], method)
        except BadInput:  # a resample whose curves stop overlapping
            return float("nan")
        return rate if column == "bd_rate" else quality

    return statistic, count


@dataclass
class GopSums:
    """Per RD point (rows) and GOP (columns) of one sequence: summed bpp, summed quality, frames. A
    GOP starts at each I-frame; an image (an image codec's row) is a GOP of its own."""

    bpp: np.ndarray
    quality: np.ndarray
    frames: np.ndarray

    @property
    def gops(self) -> int:
        return self.bpp.shape[1]

    @classmethod
    def of(cls, frames: pd.DataFrame, metric: str) -> "GopSums":
        point = point_column(frames)
        table = frames.copy()
        starts = table["type"].isin(["I", "image"]).astype(int)
        table["gop"] = starts.groupby(table[point]).cumsum() - 1
        sums = table.groupby([point, "gop"])[["bpp", metric]].sum()
        sums["frames"] = table.groupby([point, "gop"]).size()
        wide = {c: sums[c].unstack("gop").fillna(0).to_numpy(float) for c in ("bpp", metric, "frames")}
        return cls(wide["bpp"], wide[metric], wide["frames"])

    def curve(self, weights: np.ndarray, metric: str) -> pd.DataFrame:
        """The RD curve (mean bpp and quality over the frames, per point) of GOPs drawn ``weights``
        times each (the first ``len(weights)`` GOPs)."""
        n = self.frames[:, :len(weights)] @ weights
        return pd.DataFrame({"bpp": self.bpp[:, :len(weights)] @ weights / n,
                             metric: self.quality[:, :len(weights)] @ weights / n})


def intervals(pair: Pair, tables: list[pd.DataFrame], metric: str, cfg: CompareConfig, seed: int,
              keys: list[tuple[str, str]] | None = None) -> tuple[dict[str, Interval], str]:
    """Each figure's interval over the sequences ``keys`` (all shared ones by default) and seeds,
    or over GOPs for a single sequence of a single seed; and what the units are."""
    out = {}
    grid_keys = grid_of(tables, "bd_rate")[1]
    keys = keys or grid_keys
    columns = [grid_keys.index(k) for k in keys]
    gops = gop_statistic(pair, metric, cfg.method, "bd_rate", keys[0]) \
        if len(pair.runs) == 1 and len(keys) == 1 else None
    for column, lower in FIGURES:
        if gops is not None:
            statistic, count = gop_statistic(pair, metric, cfg.method, column, keys[0])
            out[column] = bootstrap(statistic, count, lower_is_better=lower, seed=seed,
                                    resamples=cfg.resamples, confidence=cfg.confidence)
            continue
        grid = grid_of(tables, column)[0][:, columns]
        out[column] = grid_interval(grid, weights=class_weights(keys), lower_is_better=lower, seed=seed,
                                    resamples=cfg.resamples, confidence=cfg.confidence)
    if gops is not None:
        return out, f"{gops[1]} GOPs" if "I" in set(pair.runs[0][1].frames["type"]) else f"{gops[1]} images"
    seeds = f"{len(pair.runs)} seeds x " if len(pair.runs) > 1 else ""
    return out, f"{seeds}{len(keys)} sequence{'s' if len(keys) > 1 else ''}"


def pair_table(pair: Pair, metric: str, cfg: CompareConfig, seed: int) -> pd.DataFrame:
    """Rows per sequence (mean over seeds), per class and over classes, each figure with its
    interval and verdict."""
    tables = sequence_figures(pair, metric, cfg.method)
    keys = grid_of(tables, "bd_rate")[1]
    scopes = [(g, s, [(g, s)]) for g, s in keys]
    classes = list(dict.fromkeys(g for g, _ in keys))
    scopes += [(g, "(class mean)", [k for k in keys if k[0] == g]) for g in classes]
    scopes.append(("(mean over classes)", "", keys))
    rows, done = [], {}
    for group, sequence, scope in scopes:
        if tuple(scope) not in done:  # one sequence: its row, its class's and the overall are one
            done[tuple(scope)] = intervals(pair, tables, metric, cfg, seed, scope)
        figures, units = done[tuple(scope)]
        row = {"test": pair.test, "anchor": pair.anchor, "metric": metric, "class": group,
               "sequence": sequence}
        for column, interval in figures.items():
            row.update({column: interval.estimate, f"{column}_low": interval.low,
                        f"{column}_high": interval.high, f"{column}_verdict": interval.verdict})
        row.update({"units": units, "confidence": cfg.confidence})
        rows.append(row)
    return pd.DataFrame(rows)


def run_compare(cfg: CompareConfig, out: Path, seed: int = 0) -> pd.DataFrame:
    """Every comparison's table (PSNR and MS-SSIM where present) with intervals, written as ``bd.csv``
    with an RD plot per class of every curve involved (error bars: the interval of each point's mean
    quality over the sequences)."""
    if not cfg.inputs:
        raise BadInput("give the curves to compare: python -m search.compare A B ... (the first is the "
                       "anchor)")
    if cfg.resamples < 1:
        raise BadInput(f"resamples={cfg.resamples}: expected at least 1")
    if not 0 < cfg.confidence < 1:
        raise BadInput(f"confidence={cfg.confidence}: expected a fraction in (0, 1), e.g. 0.95")
    pairs = comparisons(expand_seeds(list(cfg.inputs), list(cfg.seeds)))
    if not pairs:
        raise BadInput(f"{cfg.inputs[0]}: nothing to compare (no levels with an original, no chosen "
                       f"with a uniform)")
    tables, notes = [], []
    for pair in pairs:
        for metric in ("psnr", "ms_ssim"):
            if not all(metric in c.sequences.columns for run in pair.runs for c in run):
                continue
            try:
                tables.append(pair_table(pair, metric, cfg, seed))
            except BadInput as err:  # e.g. curves that do not overlap: the other pairs still count
                notes.append(str(err))
    if not tables:
        raise BadInput(notes[0])
    for note in dict.fromkeys(notes):
        print(f"note: no BD figures for {note}")
    result = pd.concat(tables, ignore_index=True)
    atomic_write(out / "bd.csv", result.to_csv(index=False))
    curves = {}
    for pair in pairs:
        for label, index in ((pair.anchor, 0), (pair.test, 1)):
            curves.setdefault(label, pd.concat([run[index].sequences for run in pair.runs]))
    for group in dict.fromkeys(g for table in curves.values() for g in table["class"]):
        lines = {name: class_curve(table, group, cfg, seed) for name, table in curves.items()}
        plot_rd({k: v for k, v in lines.items() if v}, out / f"rd_{group}", metric="psnr",
                title=f"{group}: PSNR against bpp ({cfg.confidence:.0%} intervals over sequences)")
    return result


def class_curve(table: pd.DataFrame, group: str, cfg: CompareConfig, seed: int
                ) -> list[tuple[float, float, float, float]]:
    """(bpp, PSNR, PSNR low, PSNR high) per RD point of one class: the mean over its sequences (and
    seeds) with its bootstrap interval."""
    rows = table[table["class"] == group]
    out = []
    for _, point in rows.groupby(point_column(rows)):
        interval = bootstrap(lambda idx, v=point["psnr"].to_numpy(float): float(v[idx].mean()),
                             len(point), lower_is_better=False, seed=seed, resamples=cfg.resamples,
                             confidence=cfg.confidence)
        out.append((float(point["bpp"].mean()), interval.estimate, interval.low, interval.high))
    return out
