"""The ask-score-tell loop every process of the outer search runs: the driver (``workers=1``) and each
worker process alike."""
from __future__ import annotations

import time
from typing import Callable, Mapping

from tqdm import tqdm

from .results import best_postfix
from .scorer import Score
from .storage import HEARTBEAT_INTERVAL
from .study import Study, layout_of_params


def run_loop(study: Study, scorer: Callable[[Mapping[str, int]], Score], trials: int,
             bar: tqdm | None) -> float:
    """Ask, score (with heartbeats) and tell until ``trials`` are finished, waiting for trials that
    other processes run (failed and queued again by their heartbeat if those processes died); the
    seconds spent scoring."""
    objective_s = 0.0
    while True:
        trial = study.ask(trials)
        if trial is None:
            if not study.running():
                return objective_s
            time.sleep(HEARTBEAT_INTERVAL)  # another process's trial: finished, or failed when stale
            continue
        t0 = time.perf_counter()
        try:
            with study.heartbeat(trial):
                score = scorer(layout_of_params(study.space, trial.params))
        except Exception:
            study.record(trial, None)
            raise
        objective_s += time.perf_counter() - t0
        study.record(trial, score)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(best_postfix(study.study, study.targets))
