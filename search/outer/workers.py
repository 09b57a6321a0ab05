"""Several worker processes on one study (``workers=N``): each asks, scores and tells on its own.

Every worker opens the same storage (the run folder's SQLite file, or any RDB URL in ``storage=``:
PostgreSQL for several machines) and the same folder lock, rebuilds the scorer from a
:class:`~search.outer.scorer.ScorerSpec` and runs the ask-and-tell loop with heartbeats; a worker that
dies leaves its trial to be failed by the heartbeat and run again by another.
"""
from __future__ import annotations

import multiprocessing
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch

from ..complexity import Complexity, Profile
from ..space import load_space
from .bands import Band, BandProjector
from .scorer import ScorerSpec


@dataclass
class WorkerSpec:
    """Everything a worker process needs (picklable)."""

    out: str
    space_path: str
    profile_json: str
    targets: list[float]
    seed: int
    sampler: str
    storage: str
    bands: Sequence[Band]
    tolerance: float
    trials: int
    threads: int
    scorer: ScorerSpec
    weights_sha256: str = ""


def worker_main(spec: WorkerSpec) -> None:
    """One worker: its own study handle and scorer, the same loop as the driver's."""
    from .search import run_loop
    from .study import Study

    torch.set_num_threads(max(1, spec.threads))
    space = load_space(spec.space_path)
    complexity = Complexity(Profile.from_json(spec.profile_json), space)
    projector = BandProjector(complexity, spec.bands, spec.tolerance) if spec.bands else None
    study = Study(Path(spec.out), space, complexity, spec.targets, spec.seed, spec.sampler, projector,
                  spec.storage, spec.weights_sha256)
    run_loop(study, spec.scorer.build(), spec.trials, None)


def start_workers(specs: Sequence[WorkerSpec]) -> list[multiprocessing.process.BaseProcess]:
    """Worker processes (spawned: a fresh interpreter each, as on another machine)."""
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=worker_main, args=(spec,), daemon=True) for spec in specs]
    for process in processes:
        process.start()
    return processes
