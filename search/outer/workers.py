"""Several worker processes on one study (``workers=N``): each asks, scores and tells on its own.

Every worker opens the same storage (the run folder's SQLite file, or any RDB URL in ``storage=``:
PostgreSQL for several machines) and the same folder lock, rebuilds the scorer from a
:class:`~search.outer.scorer.ScorerSpec` and runs the ask-and-tell loop with heartbeats; a worker that
dies leaves its trial to be failed by the heartbeat and run again by another.
"""
from __future__ import annotations

import multiprocessing
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
from tqdm import tqdm

from ..complexity import Complexity, Cost, Profile
from ..config import OuterConfig
from ..space import load_space
from .bands import Band, BandProjector
from .loop import run_loop
from .results import best_postfix
from .scorer import ScorerSpec
from .study import Study
from ..timing import LatencyModel, LatencyTable


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
    #: the decode-time table of an ``objective=latency`` search (empty: GMACs)
    latency_json: str = ""
    extra_objectives: tuple[str, ...] = ()


def worker_main(spec: WorkerSpec) -> None:
    """One worker: its own study handle and scorer, the same loop as the driver's."""
    torch.set_num_threads(max(1, spec.threads))
    space = load_space(spec.space_path)
    complexity = Complexity(Profile.from_json(spec.profile_json), space)
    cost: Cost = LatencyModel(LatencyTable.from_json(spec.latency_json), space) \
        if spec.latency_json else complexity
    projector = BandProjector(cost, spec.bands, spec.tolerance) if spec.bands else None
    study = Study(Path(spec.out), space, cost, spec.targets, spec.seed, spec.sampler, projector,
                  spec.storage, spec.weights_sha256, complexity, spec.extra_objectives)
    run_loop(study, spec.scorer.build(), spec.trials, None)


def start_workers(specs: Sequence[WorkerSpec]) -> list[multiprocessing.process.BaseProcess]:
    """Worker processes (spawned: a fresh interpreter each, as on another machine)."""
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=worker_main, args=(spec,), daemon=True) for spec in specs]
    for process in processes:
        process.start()
    return processes


def worker_spec(study: Study, scorer, cfg: OuterConfig, seed: int,
                projector: BandProjector | None) -> WorkerSpec:
    """What a worker process needs to rebuild ``study`` and ``scorer`` (its own seed, its share of
    the torch threads)."""
    return WorkerSpec(str(study.out), str(study.space.path), study.complexity.profile.to_json(),
                      list(study.targets), seed, cfg.sampler, cfg.storage,
                      list(projector.bands) if projector else [], projector.tolerance if projector else 0.0,
                      cfg.trials, max(1, torch.get_num_threads() // cfg.workers),
                      ScorerSpec.of(scorer, study.space.path), study.weights_sha256,
                      study.cost.table.to_json() if study.cost is not study.complexity else "",
                      tuple(o.name for o in study.objectives[2:]))


def follow_workers(study: Study, specs: Sequence[WorkerSpec], bar: tqdm | None) -> float:
    """Worker processes do the trials; this process follows the study until they are done."""
    processes = start_workers(specs)
    done = len(study.complete())
    while any(p.is_alive() for p in processes):
        time.sleep(1.0)
        finished = len(study.complete())
        if bar is not None and finished > done:
            bar.update(finished - done)
            bar.set_postfix(best_postfix(study.study, study.targets))
        done = finished
    failed = [p.exitcode for p in processes if p.exitcode]
    if failed and len(study.complete()) < specs[0].trials:
        raise RuntimeError(f"outer search: {len(failed)} worker process(es) failed (exit codes {failed})")
    return float("nan")  # the workers' scoring time is theirs
