"""The Pareto front of the outer search's trials: (GMACs, RD loss), both minimised."""
from __future__ import annotations

from typing import Sequence

import numpy as np


def pareto_front(points: Sequence[Sequence[float]] | np.ndarray) -> list[int]:
    """Indices of the non-dominated points when minimising both coordinates, by increasing GMACs.

    ``points`` is ``[N, 2]``: (GMACs, RD loss). A point is dominated when another is no worse in both
    and strictly better in one. Exact duplicates dominate neither each other: every copy of a
    non-dominated point is kept. Points with a NaN coordinate are never on the front. O(N log N).
    """
    arr = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    valid = np.flatnonzero(~np.isnan(arr).any(axis=1))
    # sort by GMACs then RD loss: a point is on the front iff its RD loss is strictly below the best
    # RD loss of every point with strictly smaller GMACs, and minimal among its own GMAC value.
    order = valid[np.lexsort((arr[valid, 1], arr[valid, 0]))]
    front: list[int] = []
    best = np.inf  # lowest RD loss among points with strictly smaller GMACs
    i = 0
    while i < len(order):
        x = arr[order[i], 0]
        j = i
        while j < len(order) and arr[order[j], 0] == x:
            j += 1
        y_min = arr[order[i], 1]  # smallest RD loss at this GMAC value (sorted)
        if y_min < best:
            front.extend(int(k) for k in order[i:j] if arr[k, 1] == y_min)
            best = y_min
        i = j
    return front
