"""Pareto fronts (exact, ties and duplicates) and the run folder's pareto.png / pareto.svg."""
from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from search.outer import pareto_front
from search.reports import Point, plot_pareto


def _brute_force(points) -> list[int]:
    pts = np.asarray(points, dtype=float)
    keep = []
    for i, p in enumerate(pts):
        if np.isnan(p).any():
            continue
        dominated = any(not np.isnan(q).any() and (q <= p).all() and (q < p).any() for q in pts)
        if not dominated:
            keep.append(i)
    return keep


def test_front_on_hand_made_points():
    points = [(100, 5.0),   # 0 front
              (200, 3.0),   # 1 front
              (150, 4.0),   # 2 front
              (150, 4.5),   # 3 dominated by 2 (same GMACs, worse loss)
              (250, 3.0),   # 4 dominated by 1 (same loss, more GMACs)
              (300, 1.0),   # 5 front
              (120, 6.0),   # 6 dominated by 0
              (200, 3.0)]   # 7 duplicate of 1: kept too
    assert pareto_front(points) == [0, 2, 1, 7, 5]


def test_front_edge_cases():
    assert pareto_front([]) == []
    assert pareto_front([(1.0, 2.0)]) == [0]
    assert pareto_front([(1, 1), (1, 1), (1, 1)]) == [0, 1, 2]
    assert pareto_front([(1, np.nan), (2, 3), (np.nan, 0)]) == [1]
    assert pareto_front([(5, 1), (4, 2), (3, 3)]) == [2, 1, 0]  # all trade-offs


@pytest.mark.parametrize("seed", range(5))
def test_front_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    points = rng.integers(0, 8, size=(60, 2)).astype(float)  # many ties and duplicates
    assert sorted(pareto_front(points)) == _brute_force(points)


def test_plot_writes_png_and_svg_atomically(tmp_path):
    rng = np.random.default_rng(0)
    gmacs = rng.uniform(50, 400, 80)
    trials = pd.DataFrame({"number": range(80), "gmacs": gmacs,
                           "rd_loss": 1 + 100 / gmacs + rng.gamma(2, 0.1, 80)})
    trials.loc[5, "rd_loss"] = np.nan  # a failed trial is skipped
    targets = [300, 150]
    chosen = {t: tuple(trials[trials.gmacs <= t].nsmallest(1, "rd_loss")[["gmacs", "rd_loss"]].iloc[0])
              for t in targets}
    uniform = [Point("Uniform 1/3", 400, 1.4), ("Uniform 2/3", 200, 1.8), ("Uniform 3/3", 60, 3.0)]
    png, svg = plot_pareto(trials, targets, chosen, uniform, tmp_path / "pareto.png",
                           tmp_path / "pareto.svg", resolution="1920x1080")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "</svg>" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pareto.png", "pareto.svg"]  # no temp left


def test_plot_without_trials_or_choices(tmp_path):
    png, svg = plot_pareto(pd.DataFrame({"gmacs": [], "rd_loss": []}), [120.0], {120.0: None}, [],
                           tmp_path / "a" / "pareto.png", tmp_path / "a" / "pareto.svg")
    assert png.stat().st_size > 0 and svg.stat().st_size > 0
    assert len(list((tmp_path / "a").iterdir())) == 2
