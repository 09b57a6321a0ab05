"""Averages as the field reports them: per frame, then per sequence, then per class.

A sequence's figure is the mean over its coded frames (I-frames included); a class's is the mean over
its sequences; the overall figure is the mean over classes. With several RD points (one checkpoint per
lambda) every table has a ``lambda`` column; a classical codec's sweep (:mod:`.classical`) has a
``quality`` column instead (its CRF or quality setting), the RD point of its tables.
"""
from __future__ import annotations

import pandas as pd

METRICS = ("psnr", "ms_ssim", "bpp", "bpp_likelihood", "bpp_i", "bpp_motion", "bpp_residual", "psnr_y", "psnr_u",
           "psnr_v", "psnr_yuv")


def _metrics(frame: pd.DataFrame) -> list[str]:
    return [m for m in METRICS if m in frame.columns]


#: the column that labels an RD point: a learned codec's lambda, or a classical codec's quality setting
POINT_COLUMNS = ("lambda", "quality")


def point_column(frame: pd.DataFrame) -> str | None:
    """The column of ``frame`` that labels its RD points (None: a single point)."""
    return next((c for c in POINT_COLUMNS if c in frame.columns), None)


def _points(frame: pd.DataFrame) -> list[str]:
    column = point_column(frame)
    return [column] if column else []


def per_sequence(frames: pd.DataFrame) -> pd.DataFrame:
    """One row per (lambda,) class and sequence: the mean over its frames, and how many."""
    keys = _points(frames) + ["class", "sequence"]
    grouped = frames.groupby(keys, sort=False)
    table = grouped[_metrics(frames)].mean()
    table["frames"] = grouped.size()
    return table.reset_index()


def per_class(sequences: pd.DataFrame) -> pd.DataFrame:
    """One row per (lambda,) class: the mean over its sequences, and how many."""
    keys = _points(sequences) + ["class"]
    grouped = sequences.groupby(keys, sort=False)
    table = grouped[_metrics(sequences)].mean()
    table["sequences"] = grouped.size()
    return table.reset_index()


def overall(classes: pd.DataFrame) -> pd.DataFrame:
    """One row per (lambda,): the mean over classes."""
    points = _points(classes)
    if not points:
        return classes[_metrics(classes)].mean().to_frame().T
    return classes.groupby(points, sort=False)[_metrics(classes)].mean().reset_index()


def mean_figures(frames: pd.DataFrame) -> dict[str, float]:
    """The overall figures of one RD point (a single-lambda frame table)."""
    row = overall(per_class(per_sequence(frames))).iloc[0]
    return {m: float(row[m]) for m in _metrics(frames)}
