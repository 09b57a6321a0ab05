"""Bootstrap confidence intervals for the figures a comparison prints, and the verdict word they give.

A BD-rate, a dB difference at matched bpp or an RD-loss difference measured on a few sequences is an
estimate; how far it could move on other content of the same kind is what the interval says. The
statistic is recomputed on resamples (with replacement) of the *units* it was measured over: sequences
or images, or GOPs when there is a single sequence. Both sides of a paired comparison are resampled
with the same units, so content that is hard for both does not widen the interval.

The interval is the percentile bootstrap (Efron & Tibshirani, *An Introduction to the Bootstrap*,
1993, ch. 13) at ``confidence`` (95% by default), drawn from a seeded generator: same seed, same
interval. With fewer than two units there is nothing to resample: the interval is the estimate itself
and the verdict says so (``"one unit"``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

from ..errors import BadInput

RESAMPLES = 2000
CONFIDENCE = 0.95
#: verdict words
BETTER, WORSE, UNDECIDED, ONE_UNIT = "better", "worse", "not distinguishable", "one unit"


@dataclass(frozen=True)
class Interval:
    """An estimate with its bootstrap interval over ``units`` units, and what it says."""

    estimate: float
    low: float
    high: float
    confidence: float
    units: int
    resamples: int
    verdict: str

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return (f"{self.estimate:+.3f} [{self.low:+.3f}, {self.high:+.3f}] "
                f"({self.confidence:.0%}, {self.units} units, {self.verdict})")


def verdict_word(low: float, high: float, lower_is_better: bool) -> str:
    """``better`` when the whole interval lies on the good side of 0, ``worse`` on the bad side,
    else ``not distinguishable``. For a BD-rate or an RD-loss difference lower is better; for a
    BD-PSNR or a dB difference higher is."""
    if low > 0 or high < 0:
        positive = low > 0
        return WORSE if positive == lower_is_better else BETTER
    return UNDECIDED


def bootstrap(statistic: Callable[[np.ndarray], float], units: int, *, lower_is_better: bool,
              seed: int = 0, resamples: int = RESAMPLES, confidence: float = CONFIDENCE) -> Interval:
    """Percentile bootstrap interval of ``statistic(indices)`` over ``units`` resampled units.

    ``statistic`` takes an integer array of unit indices (with repeats) and returns the figure computed
    on those units; ``statistic(np.arange(units))`` is the estimate. Resamples whose statistic is not
    finite (a BD figure whose curves stop overlapping) are dropped; if more than half are, the interval
    is unbounded (``-inf``, ``inf``).
    """
    if units < 1:
        raise BadInput("bootstrap: no units to resample")
    if not 0 < confidence < 1:
        raise BadInput(f"bootstrap: confidence must lie in (0, 1), got {confidence}")
    estimate = float(statistic(np.arange(units)))
    if units < 2:
        return Interval(estimate, estimate, estimate, confidence, units, 0, ONE_UNIT)
    rng = np.random.default_rng(seed)
    draws = np.array([statistic(rng.integers(0, units, units)) for _ in range(resamples)], dtype=float)
    return _percentile(estimate, draws, units, resamples, confidence, lower_is_better)


def _percentile(estimate: float, draws: np.ndarray, units: int, resamples: int, confidence: float,
                lower_is_better: bool) -> Interval:
    """The percentile interval of the resampled ``draws`` (non-finite ones dropped)."""
    finite = draws[np.isfinite(draws)]
    if finite.size < resamples / 2:
        low, high = -np.inf, np.inf
    else:
        tail = (1 - confidence) / 2
        low, high = (float(v) for v in np.quantile(finite, [tail, 1 - tail]))
    return Interval(estimate, low, high, confidence, units, resamples,
                    verdict_word(low, high, lower_is_better))


def mean_interval(values, *, lower_is_better: bool, seed: int = 0, resamples: int = RESAMPLES,
                  confidence: float = CONFIDENCE) -> Interval:
    """Interval of the mean of per-unit figures (e.g. per-sequence BD-rates, per-GOP dB differences)."""
    array = np.asarray(values, dtype=float)
    return bootstrap(lambda idx: float(array[idx].mean()), len(array), lower_is_better=lower_is_better,
                     seed=seed, resamples=resamples, confidence=confidence)


def grid_interval(values, *, weights=None, lower_is_better: bool, seed: int = 0,
                  resamples: int = RESAMPLES, confidence: float = CONFIDENCE) -> Interval:
    """Interval of the weighted mean of a ``rows x columns`` table of per-unit figures, resampling rows
    and columns independently (a two-stage bootstrap: e.g. seeds x sequences, so that both the
    training noise between seeds and the content's spread count).

    ``weights`` (one per column; default equal) make the estimate a mean over classes of class means
    when each sequence weighs ``1 / (classes * sequences in its class)``. Missing cells (NaN) are left
    out of each mean. One row is :func:`mean_interval` with weights; ``units`` is ``rows * columns``.
    """
    if not 0 < confidence < 1:
        raise BadInput(f"grid_interval: confidence must lie in (0, 1), got {confidence}")
    table = np.atleast_2d(np.asarray(values, dtype=float))
    rows, columns = table.shape
    w = np.ones(columns) if weights is None else np.asarray(weights, dtype=float)
    if rows * columns < 1 or w.shape != (columns,):
        raise BadInput(f"grid_interval: {rows}x{columns} values with {w.size} column weights")

    def means(r: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Weighted means of the cells ``r x c`` of each resample (``r``: [k, rows], ``c``: [k, columns])."""
        cells = table[r[:, :, None], c[:, None, :]]
        cell_w = np.broadcast_to(w[c][:, None, :], cells.shape) * np.isfinite(cells)
        total = cell_w.sum(axis=(1, 2))
        sums = np.nansum(cells * cell_w, axis=(1, 2))
        return np.where(total > 0, sums / np.where(total > 0, total, 1), np.nan)

    estimate = float(means(np.arange(rows)[None], np.arange(columns)[None])[0])
    units = rows * columns
    if units < 2:
        return Interval(estimate, estimate, estimate, confidence, units, 0, ONE_UNIT)
    rng = np.random.default_rng(seed)
    draws = means(rng.integers(0, rows, (resamples, rows)), rng.integers(0, columns, (resamples, columns)))
    return _percentile(estimate, draws, units, resamples, confidence, lower_is_better)


def t_interval(values, *, lower_is_better: bool, confidence: float = CONFIDENCE,
               comparisons: int = 1) -> Interval:
    """Student-t interval of the mean of a few paired differences (e.g. per validation batch).

    With three or four units a bootstrap cannot reach the tails; the t interval (Student, 1908) with
    ``n - 1`` degrees of freedom can. ``comparisons`` > 1 widens it for that many simultaneous
    comparisons (Bonferroni: each at ``1 - (1 - confidence) / comparisons``), as when the best of many
    rivals is tested on the batches that ranked it. ``resamples`` is 0: nothing was resampled.
    """
    from scipy import stats

    array = np.asarray(values, dtype=float)
    if array.size < 1:
        raise BadInput("t interval: no units")
    if not 0 < confidence < 1 or comparisons < 1:
        raise BadInput(f"t interval: confidence must lie in (0, 1) and comparisons be >= 1, got "
                       f"{confidence}, {comparisons}")
    estimate = float(array.mean())
    if array.size < 2:
        return Interval(estimate, estimate, estimate, confidence, 1, 0, ONE_UNIT)
    error = float(array.std(ddof=1) / np.sqrt(array.size))
    quantile = float(stats.t.ppf(1 - (1 - confidence) / 2 / comparisons, array.size - 1))
    low, high = estimate - quantile * error, estimate + quantile * error
    return Interval(estimate, low, high, confidence, int(array.size), 0,
                    verdict_word(low, high, lower_is_better))
