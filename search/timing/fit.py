"""From timed layouts to a table: each module's cells, the fit that fills the cells never observed,
and the calibration of the per-module sum to whole-decoder time.

Why a calibration: the per-module sum misses what no slimmable module does (activations between
layers, warping, additions, PixelShuffle, padding, the Python between modules) and the cache and
memory effects of running the whole decoder, so it is consistently below the whole decode's time;
``measured ~= alpha * sum + beta`` fitted by least squares on the design layouts corrects both the
proportional and the fixed part.
"""
from __future__ import annotations

import itertools
import statistics
from typing import Mapping, Sequence

import numpy as np

from ..nn.layers import slim_modules
from ..space import Space
from .table import ModuleCells, Width, width_value


def group_of_keys(space: Space) -> dict[str, int]:
    """Layer key -> index of its group (fixed layers are in none)."""
    return {key: g for g, group in enumerate(space.groups) for key in group}


def groups_of(cells: ModuleCells, space: Space) -> list[int]:
    """The groups a module's two widths depend on, in order (keys in no group stay at full width)."""
    owner = group_of_keys(space)
    keys = [k for k, mult in list(cells.a[0]) + list(cells.b[0]) if mult and k in owner]
    return sorted({owner[k] for k in keys})


def fit_line(points: Sequence[tuple[int, int, float]]) -> tuple[float, float]:
    """Least-squares ``ms = c0 + c1 * a * b`` over observed cells; with one distinct ``a * b``, the
    line through the origin (proportional to the MACs)."""
    products = np.array([a * b for a, b, _ in points], dtype=np.float64)
    ms = np.array([t for _, _, t in points], dtype=np.float64)
    if len(set(products.tolist())) < 2:
        return 0.0, float(ms.mean() / max(products.mean(), 1.0))
    design = np.stack([np.ones_like(products), products], axis=1)
    c0, c1 = np.linalg.lstsq(design, ms, rcond=None)[0]
    return float(c0), float(c1)


def _reachable(width_a: Width, width_b: Width, groups: list[int], space: Space) -> set[tuple[int, int]]:
    """Every (a, b) the space's option grid gives a module whose widths depend on ``groups``."""
    options = space.option_matrix()
    found = set()
    for combo in itertools.product(*(range(len(options[g])) for g in groups)):
        layout = space.full_layout()
        for g, index in zip(groups, combo):
            layout.update(zip(space.groups[g], (int(w) for w in options[g][index])))
        found.add((width_value(width_a, layout), width_value(width_b, layout)))
    return found


def module_widths(space: Space) -> list[ModuleCells]:
    """Every slimmable module of the codec with its two MAC widths (``Term.a``, ``Term.b`` of the
    GMAC profile, read from the modules themselves: no fvcore run needed), no cells yet."""
    out = []
    for path, module in slim_modules(space.codec(None)):
        a, b = module.macs_widths()
        out.append(ModuleCells(path, module.row, ([[k, m] for k, m in a.terms], a.const),
                               ([[k, m] for k, m in b.terms], b.const)))
    return out


def module_cells(space: Space, layouts: Sequence[Mapping[str, int]],
                 times: Sequence[Mapping[str, float]]) -> list[ModuleCells]:
    """Per module that ran: the median of its times per observed (a, b), the fit, and (for modules
    of at most two groups) every reachable cell not observed, filled by the fit."""
    out = []
    for term in module_widths(space):
        seen: dict[tuple[int, int], list[float]] = {}
        for layout, timed in zip(layouts, times):
            if term.path in timed:
                key = (width_value(term.a, layout), width_value(term.b, layout))
                seen.setdefault(key, []).append(timed[term.path])
        if not seen:
            continue  # never runs in decode (an encoder-side module)
        observed = [(a, b, statistics.median(ms)) for (a, b), ms in sorted(seen.items())]
        fit = fit_line(observed)
        groups = groups_of(term, space)
        cells = [[a, b, ms, True] for a, b, ms in observed]
        if len(groups) <= 2:
            cells += [[a, b, fit[0] + fit[1] * a * b, False]
                      for a, b in sorted(_reachable(term.a, term.b, groups, space) - set(seen))]
        out.append(ModuleCells(term.path, term.row, term.a, term.b, cells, fit, len(groups) > 2))
    return out


def sum_ms(modules: Sequence[ModuleCells], layout: Mapping[str, int]) -> float:
    """The uncalibrated prediction: the modules' cells at ``layout`` summed."""
    return float(sum(m.ms_of_layout(layout) for m in modules))


def calibrate(sums: Sequence[float], measured: Sequence[float]) -> tuple[float, float]:
    """``measured ~= alpha * sum + beta`` by least squares; where that is degenerate (one distinct
    sum, or a slope not above zero) the ratio of the means, ``beta = 0``."""
    x, y = np.asarray(sums, dtype=np.float64), np.asarray(measured, dtype=np.float64)
    if len(set(np.round(x, 9).tolist())) >= 2:
        alpha, beta = np.linalg.lstsq(np.stack([x, np.ones_like(x)], axis=1), y, rcond=None)[0]
        if alpha > 0:
            return float(alpha), float(beta)
    return float(y.mean() / x.mean()), 0.0


def relative_errors(predicted: Sequence[float], measured: Sequence[float]) -> tuple[float, float]:
    """(mean, max) absolute relative error."""
    errors = [abs(p - m) / m for p, m in zip(predicted, measured)]
    return float(np.mean(errors)), float(np.max(errors))
