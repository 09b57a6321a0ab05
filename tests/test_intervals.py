"""Bootstrap intervals: coverage of a known mean, the verdict words, seeds, degenerate inputs."""
from __future__ import annotations

import numpy as np
import pytest

from search.errors import BadInput
from search.evaluation.intervals import (BETTER, ONE_UNIT, UNDECIDED, WORSE, bootstrap, mean_interval,
                                          verdict_word)


def test_interval_covers_the_true_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(1)
    covered = 0
    for _ in range(200):
        sample = rng.normal(0.5, 1.0, 30)
        interval = mean_interval(sample, lower_is_better=True, resamples=400, seed=int(rng.integers(1e9)))
        covered += interval.low <= 0.5 <= interval.high
    assert 0.88 <= covered / 200 <= 0.99


def test_verdict_words_follow_the_direction():
    assert verdict_word(-3.0, -1.0, lower_is_better=True) == BETTER
    assert verdict_word(1.0, 3.0, lower_is_better=True) == WORSE
    assert verdict_word(1.0, 3.0, lower_is_better=False) == BETTER
    assert verdict_word(-1.0, 3.0, lower_is_better=False) == UNDECIDED


def test_clear_difference_is_called_and_noise_is_not():
    rng = np.random.default_rng(0)
    assert mean_interval(rng.normal(-5.0, 1.0, 12), lower_is_better=True).verdict == BETTER
    assert mean_interval(rng.normal(0.0, 1.0, 12), lower_is_better=True).verdict in (UNDECIDED, BETTER,
                                                                                      WORSE)
    wide = mean_interval(rng.normal(0.0, 10.0, 12), lower_is_better=True)
    assert wide.low < 0 < wide.high and wide.verdict == UNDECIDED


def test_same_seed_same_interval_and_paired_statistic():
    a, b = np.arange(8.0), np.arange(8.0) + 1.0
    stat = lambda idx: float((b[idx] - a[idx]).mean())  # noqa: E731
    one = bootstrap(stat, 8, lower_is_better=True, seed=3)
    assert one == bootstrap(stat, 8, lower_is_better=True, seed=3)
    assert one.low == one.high == one.estimate == 1.0  # paired: the difference never varies


def test_one_unit_and_no_unit():
    single = mean_interval([2.0], lower_is_better=True)
    assert (single.low, single.high, single.verdict) == (2.0, 2.0, ONE_UNIT)
    with pytest.raises(BadInput):
        mean_interval([], lower_is_better=True)


def test_unbounded_when_the_statistic_mostly_fails():
    interval = bootstrap(lambda idx: np.nan if idx[0] != 0 else 1.0, 5, lower_is_better=True,
                         resamples=100)
    assert interval.low == -np.inf and interval.high == np.inf and interval.verdict == UNDECIDED


def test_grid_interval_resamples_seeds_and_sequences():
    from search.evaluation.intervals import grid_interval

    one_row = grid_interval([1.0, 2.0, 3.0, 4.0, 5.0], lower_is_better=True, seed=3, resamples=500)
    assert one_row.estimate == pytest.approx(3.0) and one_row.low < 3.0 < one_row.high
    # the estimate weighs columns: two classes of 1 and 3 sequences give each class half
    weighted = grid_interval([[0.0, 4.0, 4.0, 4.0]], weights=[0.5, 1 / 6, 1 / 6, 1 / 6],
                             lower_is_better=True, resamples=200)
    assert weighted.estimate == pytest.approx(2.0)
    # seeds that disagree widen the interval beyond the spread of one seed's sequences
    grid = np.array([[-10.0, -11.0, -9.0], [-2.0, -3.0, -1.0]])
    both = grid_interval(grid, lower_is_better=True, seed=0, resamples=1000)
    assert both.units == 6 and both.low < -9 and both.high > -3 and both.verdict == "better"
    assert grid_interval([[np.nan, 1.0]], lower_is_better=True).estimate == 1.0  # missing cells skipped
    assert grid_interval([[2.0]], lower_is_better=True).verdict == "one unit"
