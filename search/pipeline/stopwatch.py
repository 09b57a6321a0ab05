"""Where a job's wall time went: seconds per phase, for ``summary.json`` and the console."""
from __future__ import annotations

import time


class Stopwatch:
    """Wall seconds of consecutive phases: each :meth:`lap` closes the phase since the last one."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, phase: str) -> float:
        now = time.perf_counter()
        spent = now - self._last
        self.seconds[phase] = round(self.seconds.get(phase, 0.0) + spent, 1)
        self._last = now
        return spent
