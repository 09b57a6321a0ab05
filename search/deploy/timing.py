"""Wall-clock timing of a decoder part: warm-up runs, then the median of repeated runs."""
from __future__ import annotations

import statistics
import time
from typing import Callable


def median_seconds(run: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    """The median wall time of ``repeats`` calls of ``run`` after ``warmup`` untimed ones (the
    first calls allocate and pick kernels; the median ignores a run slowed by another process)."""
    for _ in range(warmup):
        run()
    times = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
