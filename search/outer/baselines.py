"""The uniform-slimming baseline at the same complexity as a chosen architecture.

Uniform slimming (SlimVC's, SlimCAE's) scales every searchable layer by one factor. On the option grid
(full, 1/2, 1/4 of each width) there are only a few such layouts, at complexities far from most
targets; comparing a searched layout with the nearest one below it compares different complexities.
The fair baseline takes one continuous factor ``f`` for every searchable layer (widths
``round(f * full)`` to the layer's divisor, ties respected), the largest ``f`` whose decoder fits the
target. Its widths are off the grid, never trained in the supernet: the report compares chosen and
uniform after the same fine-tuning from the shared weights. A codec that cannot run off its grid (a
switchable GDN has parameters only for its own widths) falls back to the largest uniform layout of the
grid below the target, and says so.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..complexity import Cost
from ..space import Space


@dataclass(frozen=True)
class UniformBaseline:
    name: str
    factor: float
    layout: dict[str, int]
    cost: float  # in the search's cost: GMACs, or predicted ms under objective=latency
    on_grid: bool
    note: str = ""
    #: the next wider single-factor layout (above the target): with this one, the uniform curve
    #: brackets the target (None on the grid, or at full width)
    wider: dict[str, int] | None = None


def grid_uniform_below(space: Space, cost: Cost, target: float) -> UniformBaseline | None:
    """The uniform layout of the grid (every choice at the same option) with the highest cost <= target,
    and the grid's next uniform layout above it (the two bracket the target; None at full width)."""
    count = max(space.group_sizes, default=1)
    grid = sorted(((cost.of_layout(space.uniform_layout(i)), i) for i in range(count)))
    below = [(value, i) for value, i in grid if value <= target]
    if not below:
        return None
    value, index = below[-1]
    above = [i for g, i in grid if g > target]
    layout = space.uniform_layout(index)
    key = space.searchable[0] if space.searchable else next(iter(layout))
    return UniformBaseline(f"uniform {index + 1}/{count}", layout[key] / space.layers[key].full, layout,
                           value, True, wider=space.uniform_layout(above[0]) if above else None)


def _builds(space: Space, layout: dict[str, int]) -> str:
    try:
        space.codec(layout)
    except (ValueError, RuntimeError, KeyError) as err:
        return str(err).splitlines()[0]
    return ""


def uniform_at(space: Space, cost: Cost, target: float, steps: int = 48
               ) -> UniformBaseline | None:
    """The largest single factor whose decoder fits ``target`` (bisection: the cost grows with ``f``)."""
    low, high = 0.0, 1.0
    if cost.of_layout(space.scaled_layout(1e-9)) > target:
        return grid_uniform_below(space, cost, target)
    if cost.of_layout(space.scaled_layout(1.0)) <= target:
        low = 1.0
    for _ in range(steps if low < 1.0 else 0):
        middle = (low + high) / 2
        if cost.of_layout(space.scaled_layout(middle)) <= target:
            low = middle
        else:
            high = middle
    layout = space.scaled_layout(low)
    broken = _builds(space, layout)
    if broken:
        grid = grid_uniform_below(space, cost, target)
        note = f"the codec does not run off its option grid ({broken}): uniform on the grid"
        return None if grid is None else UniformBaseline(grid.name, grid.factor, grid.layout, grid.cost,
                                                         True, note, grid.wider)
    value = cost.of_layout(layout)
    wider = space.scaled_layout(high) if low < 1.0 else None
    if wider is not None and _builds(space, wider):
        wider = None
    return UniformBaseline(f"uniform x{low:.3f}", low, layout, value, False,
                           _gap_note(cost, space.scaled_layout(high), value, target) if low < 1.0 else "",
                           wider)


def _gap_note(cost: Cost, wider: dict[str, int], value: float, target: float,
              tolerance: float = 0.01) -> str:
    """Why one factor stops well below ``target``: every width moves in steps of its layer's divisor, so
    the next wider uniform layout jumps over the target."""
    if value >= target * (1 - tolerance):
        return ""
    return (f"{(target - value) / target:.1%} below the target: the next wider uniform layout counts "
            f"{cost.of_layout(wider):.3f} {cost.unit} (widths move in steps of their layers' divisors)")
