"""The run folder's ``pareto.png`` / ``pareto.svg``: the outer search's trials by GMACs and RD loss.

The outer loop minimises two objectives per trial: the decoder's GMACs (closed form,
:class:`search.complexity.Complexity`) and its RD loss ``R + lambda * D`` on validation frames scored
with the supernet's shared weights. :func:`plot_pareto` draws every trial, the Pareto front
(:func:`search.outer.pareto.pareto_front`), the GMAC targets, the architecture chosen per target and
the uniform-slimming (SlimVC-style) baseline.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .figures import save_figure
from ..outer.pareto import pareto_front


@dataclass(frozen=True)
class Point:
    """A labelled point of the plot (a chosen architecture or a uniform-slimming layout)."""

    label: str
    gmacs: float
    rd_loss: float


def _step_xy(front: np.ndarray, x_max: float) -> tuple[np.ndarray, np.ndarray]:
    """The attainment staircase of a front sorted by GMACs: from each point, flat to the next GMAC
    value then down (what is achievable at a budget), continued flat to ``x_max``."""
    xs, ys = [], []
    for k, (x, y) in enumerate(front):
        if k:
            xs.append(x)
            ys.append(front[k - 1][1])
        xs.append(x)
        ys.append(y)
    if len(front):
        xs.append(max(x_max, front[-1][0]))
        ys.append(front[-1][1])
    return np.array(xs), np.array(ys)


def _as_points(items) -> list[Point]:
    """Accept Points, (label, gmacs, rd) tuples, or a mapping label -> (gmacs, rd); skip missing."""
    if items is None:
        return []
    if isinstance(items, Mapping):
        items = [(k, *v) if v is not None else None for k, v in items.items()]
    out = []
    for item in items:
        if item is None:
            continue
        p = item if isinstance(item, Point) else Point(str(item[0]), float(item[1]), float(item[2]))
        if np.isfinite(p.gmacs) and np.isfinite(p.rd_loss):
            out.append(p)
    return out


PALETTE = ["tab:orange", "tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan"]
MARKERS = ["*", "P", "D", "X", "^", "v", "p", "h"]


def plot_pareto(trials: pd.DataFrame, targets: Sequence[float],
                chosen: Mapping[float, tuple[float, float] | None] | Sequence[Point],
                uniform: Sequence[Point] | Sequence[tuple[str, float, float]],
                out_png: Path | str, out_svg: Path | str, *, x: str = "gmacs", y: str = "rd_loss",
                title: str = "", resolution: str = "", readings: Sequence[Point] = (),
                unit: str = "GMACs") -> tuple[Path, Path]:
    """Draw the search's trials by decoder GMACs (x; under ``objective=latency`` the predicted decode
    time, column ``x="ms"``, ``unit="ms"``) and RD loss (y) into a PNG and an SVG.

    * every trial with finite ``x`` and ``y`` columns of ``trials`` (failed trials are skipped);
    * shaded: GMACs above the largest target, where a trial is infeasible for every target
      (feasibility per target is ``gmacs <= target``, the study's constraint);
    * the Pareto front of all trials as a staircase;
    * each target as a labelled vertical line; the chosen architecture of each target (``chosen``:
      target -> (GMACs, RD loss), or :class:`Point` records) as one marker per target;
    * the uniform-slimming layouts (``uniform``: :class:`Point` or (label, GMACs, RD loss)) as a curve,
      and ``readings``: that curve read at the chosen architectures' GMACs.

    The axes fit the trials that matter: RD losses far above those of the trials within the largest
    target (beyond the upper quartile plus three interquartile ranges) and GMACs far beyond it do not
    stretch them; the legend says how many trials lie outside. Both files are written atomically.
    """
    # the Agg canvas directly, no pyplot: no GUI backend, no global figure state (thread-safe)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    data = _finite_xy(trials, x, y)
    targets = sorted((float(t) for t in targets), reverse=True)
    target_color = {t: PALETTE[k % len(PALETTE)] for k, t in enumerate(targets)}
    chosen_pts = _chosen_points(chosen, target_color)
    uniform_pts = _as_points(uniform)
    fig = Figure(figsize=(8.0, 5.6), dpi=150)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    readings = [p for p in _as_points(readings)]
    x_hi, outside = _limits(ax, data, [p for p, _ in chosen_pts] + uniform_pts + readings, targets)
    _draw_trials(ax, data, targets, x_hi, unit)
    _draw_uniform(ax, uniform_pts, readings, unit)
    if outside:
        ax.plot([], [], ls="none", label=f"{outside} trial(s) outside the axes (outliers)")
    _draw_targets(ax, targets, target_color, chosen_pts, unit)
    where = f" at {resolution}" if resolution else ""
    ax.set_xlabel(f"decoder complexity (GMACs per frame{where})" if unit == "GMACs" else
                  f"predicted decode time ({unit} per frame{where})")
    ax.set_ylabel("RD loss  R + λ·D  (bits per pixel + λ·MSE)")
    ax.set_title(title or "Outer search: trials, Pareto front and chosen architectures")
    ax.grid(True, color="0.9", lw=0.6, zorder=0)
    ax.legend(loc="upper right", fontsize=7.5, framealpha=0.92)
    fig.tight_layout()
    return save_figure(fig, Path(out_png), "png"), save_figure(fig, Path(out_svg), "svg")


def _finite_xy(trials: pd.DataFrame, x: str, y: str) -> np.ndarray:
    if not len(trials):
        return np.zeros((0, 2))
    data = trials[[x, y]].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    return data[np.isfinite(data).all(axis=1)]


def _chosen_points(chosen, target_color: Mapping[float, str]) -> list[tuple[Point, str]]:
    if isinstance(chosen, Mapping):
        points = [(Point(f"chosen @ {float(t):g}", *v), target_color.get(float(t), "black"))
                  for t, v in chosen.items() if v is not None]
    else:
        points = [(p, PALETTE[k % len(PALETTE)]) for k, p in enumerate(_as_points(chosen))]
    return [(p, c) for p, c in points if np.isfinite(p.gmacs) and np.isfinite(p.rd_loss)]


def _kept(data: np.ndarray, targets: Sequence[float]) -> np.ndarray:
    """The trials that set the axes: within 1.25x the largest target, RD loss below the upper
    quartile plus three interquartile ranges of the trials within the largest target."""
    if not len(data):
        return data
    keep = data[:, 0] <= 1.25 * max(targets) if targets else np.ones(len(data), bool)
    inside = data[data[:, 0] <= max(targets)] if targets else data
    if len(inside) >= 4:
        q1, q3 = np.percentile(inside[:, 1], [25, 75])
        keep &= data[:, 1] <= q3 + 3 * max(q3 - q1, 1e-12)
    return data[keep]


def _limits(ax, data: np.ndarray, marked: Sequence[Point], targets: Sequence[float]) -> tuple[float, int]:
    """Axes that hold the trials that matter, every marked point and target; the right end of the
    x axis and how many trials it leaves out."""
    kept = _kept(data, targets)
    all_x = np.concatenate([kept[:, 0], [p.gmacs for p in marked], targets])
    all_y = np.concatenate([kept[:, 1], [p.rd_loss for p in marked]])
    all_y = all_y[np.isfinite(all_y)]
    x_lo, x_hi = (float(all_x.min()), float(all_x.max())) if len(all_x) else (0.0, 1.0)
    pad = 0.04 * max(x_hi - x_lo, 1e-9)
    ax.set_xlim(x_lo - pad, x_hi + pad)
    if len(all_y):
        y_lo, y_hi = float(all_y.min()), float(all_y.max())
        ypad = 0.06 * max(y_hi - y_lo, abs(y_hi) * 1e-3, 1e-9)
        ax.set_ylim(y_lo - ypad, y_hi + ypad)
    return x_hi + pad, len(data) - len(kept)


def _draw_trials(ax, data: np.ndarray, targets: Sequence[float], x_hi: float, unit: str = "GMACs"
                 ) -> None:
    """The infeasible band, every trial, and the Pareto front as a staircase."""
    limit = targets[0] if targets else np.inf
    if targets:
        ax.axvspan(limit, x_hi, color="0.85", zorder=0,
                   label=f"infeasible for every target (> {limit:g} {unit})")
    feasible = data[:, 0] <= limit
    ax.scatter(data[feasible, 0], data[feasible, 1], s=14, color="tab:blue", alpha=0.6,
               linewidths=0, zorder=2, label=f"trials ({int(feasible.sum())} within the largest target)")
    if (~feasible).any():
        ax.scatter(data[~feasible, 0], data[~feasible, 1], s=14, color="0.45", alpha=0.6,
                   linewidths=0, zorder=2, label=f"infeasible trials ({int((~feasible).sum())})")
    front = data[pareto_front(data)] if len(data) else data
    if len(front):
        fx, fy = _step_xy(front, x_hi)
        ax.plot(fx, fy, color="tab:red", lw=1.6, zorder=3, label=f"Pareto front ({len(front)})")
        ax.scatter(front[:, 0], front[:, 1], s=22, facecolors="none", edgecolors="tab:red",
                   linewidths=1.0, zorder=4)


def _draw_uniform(ax, points: Sequence[Point], readings: Sequence[Point] = (), unit: str = "GMACs"
                  ) -> None:
    for p in readings:
        if np.isfinite(p.rd_loss):
            ax.scatter([p.gmacs], [p.rd_loss], marker="x", s=60, color="tab:green", zorder=5)
    if readings:
        ax.plot([], [], ls="none", marker="x", color="tab:green",
                label=f"uniform grid curve read at the chosen {unit}")
    if not points:
        return
    ordered = sorted(points, key=lambda p: p.gmacs)
    ux, uy = [p.gmacs for p in ordered], [p.rd_loss for p in ordered]
    ax.plot(ux, uy, ls=":", color="tab:green", lw=1.0, zorder=4)
    ax.scatter(ux, uy, marker="s", s=46, color="tab:green", edgecolors="black", linewidths=0.6,
               zorder=5, label="uniform slimming (SlimVC-style)")
    for p in points:
        ax.annotate(p.label, (p.gmacs, p.rd_loss), xytext=(5, 5), textcoords="offset points",
                    fontsize=7, color="tab:green")


def _draw_targets(ax, targets: Sequence[float], target_color: Mapping[float, str],
                  chosen: Sequence[tuple[Point, str]], unit: str = "GMACs") -> None:
    for t in targets:
        color = target_color[t]
        ax.axvline(t, color=color, ls="--", lw=1.1, zorder=1)
        ax.annotate(f"target {t:g}", (t, 1.0), xycoords=("data", "axes fraction"), xytext=(-3, -4),
                    textcoords="offset points", rotation=90, ha="right", va="top", fontsize=8,
                    color=color)
    for k, (p, color) in enumerate(chosen):
        ax.scatter([p.gmacs], [p.rd_loss], marker=MARKERS[k % len(MARKERS)], s=170, color=color,
                   edgecolors="black", linewidths=0.8, zorder=6,
                   label=f"{p.label}: {p.gmacs:.3g} {unit}, RD {p.rd_loss:.4g}")
