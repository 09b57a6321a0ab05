"""Landing on measured decode time (``objective=latency``): the chosen layout is moved until a clock
agrees with its target.

The clock is injected: here a machine whose times the table gets wrong in a known way (the table
underestimates wide layouts, the winner's curse of a search under it), so the test can say where the
landing must end. The real clock runs in the tiny main job of ``test_objective_latency.py``.
"""
from pathlib import Path

import numpy as np
import pytest

from search.space import load_space
from search.stage2 import land
from search.timing import LatencyModel, LatencySettings, load_or_measure_latency
from search.pipeline.clock_landing import clock_rounds, layout_digest

PROFILES = Path(__file__).resolve().parents[1] / "profiles"


@pytest.fixture(scope="module")
def fvc_table():
    """FVC's committed decode-time table at 448x256 (1 thread, this project's CPU) as a cost."""
    space = load_space("fvc")
    table = load_or_measure_latency(space, (448, 256), LatencySettings(threads=1), PROFILES,
                                    log=lambda *a, **k: None)
    return space, LatencyModel(table, space)


def wide_is_slow(space, cost, excess: float):
    """A machine on which a layout takes its predicted time plus ``excess`` times its share of full
    widths: the table underestimates wide layouts."""
    full = space.full_layout()

    def clock(layout):
        share = np.mean([layout[k] / full[k] for k in space.searchable])
        return cost.of_layout(layout) * (1 + excess * share)
    return clock


def landed(space, cost, target):
    return space.layout_of(land(cost, [np.zeros(n) for n in space.group_sizes], target, 0.005).choice)


@pytest.mark.parametrize("fraction", [0.35, 0.6, 0.85])
def test_a_layout_the_table_underestimates_is_moved_onto_its_target(fvc_table, fraction):
    space, cost = fvc_table
    low, high = cost.range()
    target = low + fraction * (high - low)
    start = landed(space, cost, target)
    clock = wide_is_slow(space, cost, 0.12)
    tried, kept = clock_rounds(space, cost, start, target, clock, rounds=3, tolerance=0.02,
                               band_tolerance=0.005)
    assert tried[0].distance(target) > 0.02  # the table's prediction alone misses
    assert kept > 0 and abs(tried[kept].distance(target)) <= 0.02
    assert tried[kept].measured_ms == pytest.approx(clock(tried[kept].layout))
    assert tried[kept].predicted_ms == pytest.approx(cost.of_layout(tried[kept].layout))
    assert len({layout_digest(r.layout) for r in tried}) == len(tried)  # no layout timed twice


def test_a_layout_already_on_time_is_kept(fvc_table):
    space, cost = fvc_table
    low, high = cost.range()
    target = low + 0.5 * (high - low)
    start = landed(space, cost, target)
    tried, kept = clock_rounds(space, cost, start, target, cost.of_layout, rounds=3, tolerance=0.02,
                               band_tolerance=0.005)
    assert len(tried) == 1 and kept == 0 and tried[0].layout == start


def test_without_rounds_or_within_reach_the_nearest_is_kept(fvc_table):
    """No move allowed: the start is kept as it is. A clock too slow for any move to help: the round
    measured nearest the target is kept, whichever it is."""
    space, cost = fvc_table
    low, high = cost.range()
    target = low + 0.5 * (high - low)
    start = landed(space, cost, target)
    slow = wide_is_slow(space, cost, 0.12)
    tried, kept = clock_rounds(space, cost, start, target, slow, 0, 0.02, 0.005)
    assert len(tried) == 1 and kept == 0
    tried, kept = clock_rounds(space, cost, start, target, slow, 2, 1e-6, 0.005)
    distances = [abs(r.distance(target)) for r in tried]
    assert len(tried) <= 3 and kept == int(np.argmin(distances))
