"""Landing a learned layout exactly on its target: an exact integer program over the option grid.

The mode-selection module's penalty brings a level *near* its target. Landing picks, among the layouts
whose cost (closed-form GMACs, or predicted decode time under ``objective=latency``) lies in
``[(1 - tolerance) * target, target]``, the one with the highest total score (the sum over choices of
the chosen option's log-probability). Where the grid cannot come that close, it says so and lands on
the highest achievable cost at or below the target.

The cost of a layout is a quadratic form in one-hot option indicators ``x`` (see
:class:`search.complexity.Cost`): ``x^T P x``. Products of indicators of two different choices
are linearised (``y <= x_a``, ``y <= x_b``, ``y >= x_a + x_b - 1``), products within one choice are the
indicator itself, so the problem is a mixed-integer linear program, solved exactly by HiGHS
(``scipy.optimize.milp``, zero gap); the result is re-checked with the cost itself.

A small grid (at most :data:`ENUMERATE_LIMIT` layouts: SlimCAE's 125, SlimVC's 625) is enumerated
instead, with the same answer by definition: on such grids, whose few tied choices move the cost in
large steps, the solver's search for the nearest achievable cost when the band is empty can run for
minutes, while scoring every layout with the closed form takes milliseconds.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from ..complexity import Cost
#: grids of at most this many layouts are enumerated rather than solved
ENUMERATE_LIMIT = 100_000


@dataclass
class Landing:
    choice: list[int]
    value: float  # the landed layout's cost, in the cost's unit (GMACs or ms)
    target: float
    score: float
    reachable: bool  # the grid reaches within the tolerance of the target
    note: str = ""
    unit: str = "GMACs"

    @property
    def distance(self) -> float:
        """Relative distance to the target (negative: below)."""
        return (self.value - self.target) / self.target


class _Program:
    """Variables: indicators x (one per option of each group), then pair products y."""

    def __init__(self, cost: Cost):
        p = cost.unit_q
        self.sizes = cost.space.group_sizes
        self.offsets = cost.offsets
        n = sum(self.sizes)
        self.n = n
        linear = 2 * p[:n, -1].copy()
        for g, size in enumerate(self.sizes):
            block = slice(self.offsets[g], self.offsets[g] + size)
            linear[block] += np.diag(p[block, block])
        self.const = p[-1, -1]
        pairs = []
        for g in range(len(self.sizes)):
            for h in range(g + 1, len(self.sizes)):
                for o in range(self.sizes[g]):
                    for q in range(self.sizes[h]):
                        i, j = self.offsets[g] + o, self.offsets[h] + q
                        coefficient = p[i, j] + p[j, i]
                        if coefficient:
                            pairs.append((i, j, coefficient))
        self.pairs = pairs
        self.cost_row = np.concatenate([linear, [c for _, _, c in pairs]])
        rows, lower, upper = [], [], []
        for g, size in enumerate(self.sizes):  # one option per choice
            row = np.zeros(self.width)
            row[self.offsets[g]:self.offsets[g] + size] = 1
            rows.append(row), lower.append(1), upper.append(1)
        for k, (i, j, _) in enumerate(pairs):  # y = x_i * x_j
            y = n + k
            for a in (i, j):
                row = np.zeros(self.width)
                row[y], row[a] = 1, -1
                rows.append(row), lower.append(-np.inf), upper.append(0)
            row = np.zeros(self.width)
            row[y], row[i], row[j] = 1, -1, -1
            rows.append(row), lower.append(-1), upper.append(np.inf)
        self.structure = LinearConstraint(np.array(rows), lower, upper)

    @property
    def width(self) -> int:
        return self.n + len(self.pairs)

    def solve(self, objective: np.ndarray, low: float, high: float) -> list[int] | None:
        """Minimise ``objective . vars`` with ``low <= cost <= high``; the chosen option per group."""
        budget = LinearConstraint(self.cost_row[None, :], low - self.const, high - self.const)
        integrality = np.concatenate([np.ones(self.n), np.zeros(len(self.pairs))])
        result = milp(objective, constraints=[self.structure, budget], integrality=integrality,
                      bounds=Bounds(0, 1), options={"mip_rel_gap": 0.0, "time_limit": 300.0})
        if result.x is None:
            return None
        if result.status != 0:  # time limit: the incumbent is feasible but not proven optimal
            raise RuntimeError(f"landing: HiGHS stopped before proving optimality ({result.message})")
        x = result.x[:self.n]
        return [int(np.argmax(x[self.offsets[g]:self.offsets[g] + s])) for g, s in enumerate(self.sizes)]


def _unreachable_note(tolerance: float, target: float, value: float, unit: str) -> str:
    return (f"the option grid cannot come within {100 * tolerance:g}% of {target:g} {unit}; nearest "
            f"achievable at or below: {value:.3f}")


def enumerate_landing(cost: Cost, scores: Sequence[np.ndarray], target: float,
                      tolerance: float = 0.005) -> Landing:
    """:func:`land` by scoring every layout of the grid: the best-scoring one within the band, else
    the highest cost at or below the target (the best-scoring among equals)."""
    sizes = cost.space.group_sizes
    choices = np.array(list(itertools.product(*(range(n) for n in sizes))), dtype=np.int64)
    choices = choices.reshape(len(choices), len(sizes))
    values = cost.of_choices(choices)
    total = np.zeros(len(choices))
    for g, s in enumerate(scores):
        total += np.asarray(s, dtype=float)[choices[:, g]]
    below = values <= target
    if not below.any():
        raise ValueError(f"no layout of the space is at or below {target:g} {cost.unit}")
    band = below & (values >= (1 - tolerance) * target)
    reachable = bool(band.any())
    if reachable:
        candidates = np.flatnonzero(band)
    else:
        candidates = np.flatnonzero(below & (values == values[below].max()))
    best = int(candidates[np.argmax(total[candidates])])
    choice = [int(c) for c in choices[best]]
    note = "" if reachable else _unreachable_note(tolerance, target, float(values[best]), cost.unit)
    return Landing(choice, float(values[best]), target, float(total[best]), reachable, note, cost.unit)


def land(cost: Cost, scores: Sequence[np.ndarray], target: float,
         tolerance: float = 0.005) -> Landing:
    """The best-scoring layout within ``[(1 - tolerance) * target, target]`` of the cost (see module
    doc)."""
    if math.prod(cost.space.group_sizes) <= ENUMERATE_LIMIT:
        return enumerate_landing(cost, scores, target, tolerance)
    program = _Program(cost)
    score_vector = np.concatenate([np.asarray(s, dtype=float) for s in scores])
    objective = np.concatenate([-score_vector, np.zeros(len(program.pairs))])

    def exact(choice):
        return float(cost.of_choices(np.array([choice]))[0])

    def solve_below(obj, low, high):
        # HiGHS works to a small feasibility tolerance: re-check exactly and tighten if it overshot.
        for _ in range(20):
            choice = program.solve(obj, low, high)
            if choice is None or exact(choice) <= target:
                return choice
            high -= max(exact(choice) - target, 1e-9) + 1e-9
        return None

    floor = (1 - tolerance) * target
    choice = solve_below(objective, floor, target)
    reachable = choice is not None
    if not reachable:
        # The grid has no layout within the tolerance: bisect the lower bound of the window to find
        # the highest achievable cost at or below the target (maximising the cost directly is a much
        # harder program for the solver than these feasibility questions).
        low, high = cost.range()[0], floor
        if low > target:
            raise ValueError(f"no layout of the space is at or below {target:g} {cost.unit}")
        choice = solve_below(objective, -np.inf, target)
        if choice is None:
            raise ValueError(f"no layout of the space is at or below {target:g} {cost.unit}")
        low = exact(choice)
        while high - low > 1e-6 * target:
            middle = (low + high) / 2
            found = solve_below(objective, middle, target)
            if found is None:
                high = middle
            else:
                choice, low = found, exact(found)
    score = float(sum(s[c] for s, c in zip(scores, choice)))
    note = "" if reachable else _unreachable_note(tolerance, target, exact(choice), cost.unit)
    return Landing(choice, exact(choice), target, score, reachable, note, cost.unit)
