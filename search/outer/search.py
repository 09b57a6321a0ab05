"""Running the outer search: the study, its enqueued first trials, and the Optuna or Ray loop."""
from __future__ import annotations

import math
import re
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import optuna
from tqdm import tqdm

from ..complexity import Complexity, Cost
from ..config import OuterConfig
from ..errors import BadInput
from ..space import Space
from .bands import Band, BandProjector
from .results import StudyResult, best_postfix, choose, first_layouts, trials_frame
from .loop import run_loop
from .scorer import LayoutScorer, Score
from .study import BACKENDS, SAMPLERS, STUDY_FILE, Study
from .workers import follow_workers, worker_spec

_RAY_ADDRESS = re.compile(r"^(auto|(ray://)?[A-Za-z0-9._-]+:\d{1,5})$")


def check_outer(cfg: OuterConfig) -> None:
    """The outer section's values, checked before any training (one line naming the key)."""
    trials, cpus, ray_address = cfg.trials, cfg.cpus, cfg.ray_address
    if isinstance(trials, bool) or not isinstance(trials, (int, np.integer)) or trials < 1:
        raise BadInput(f"trials={trials!r}: expected a whole number >= 1")
    if cfg.backend not in BACKENDS:
        raise BadInput(f"backend={cfg.backend!r}: accepted: {', '.join(BACKENDS)}")
    if cfg.sampler not in SAMPLERS:
        raise BadInput(f"sampler={cfg.sampler!r}: accepted: {', '.join(SAMPLERS)}")
    if ray_address and not _RAY_ADDRESS.match(str(ray_address)):
        raise BadInput(f"ray_address={ray_address!r}: expected 'auto', 'HOST:PORT' or "
                       f"'ray://HOST:PORT' (empty: a local Ray instance)")
    if ray_address and cfg.backend != "ray":
        raise BadInput(f"ray_address={ray_address!r} needs backend=ray (backend={cfg.backend!r})")
    if isinstance(cpus, bool) or not isinstance(cpus, (int, np.integer)) or cpus < 1:
        raise BadInput(f"cpus={cpus!r}: expected a whole number >= 1")
    if cfg.workers < 1:
        raise BadInput(f"workers={cfg.workers}: expected a whole number >= 1")
    if cfg.workers > 1 and cfg.backend != "optuna":
        raise BadInput(f"workers={cfg.workers} runs Optuna worker processes; with backend=ray, Ray "
                       f"places the trials (cpus=, gpus_per_trial=)")
    if not 0 <= cfg.gpus_per_trial or cfg.cpus_per_trial <= 0:
        raise BadInput(f"gpus_per_trial={cfg.gpus_per_trial:g}, cpus_per_trial={cfg.cpus_per_trial:g}: "
                       f"expected gpus >= 0 and cpus > 0 (fractions allowed)")
    if cfg.val_batches < 1 or cfg.val_count % cfg.val_batches:
        raise BadInput(f"val_batches={cfg.val_batches}: expected a divisor of val_count={cfg.val_count} "
                       f"(equal disjoint batches)")
    if cfg.storage and "://" not in cfg.storage:
        raise BadInput(f"storage={cfg.storage!r}: expected an RDB URL (sqlite:///path.db, "
                       f"postgresql://user@host/db), or empty for the run folder's study.db")


def _check_targets(targets: Sequence[float]) -> list[float]:
    values = [float(t) for t in targets]
    if not values or any(not math.isfinite(t) or t <= 0 for t in values):
        raise BadInput(f"targets={list(targets)}: expected one or more positive numbers")
    return sorted(set(values), reverse=True)


def run_study(scorer: Callable[[Mapping[str, int]], Score], space: Space, cost: Cost,
              targets: Sequence[float], out: Path | str, cfg: OuterConfig, *, seed: int = 0,
              supernet_layouts: Sequence[tuple[str, Mapping[str, int]]] = (), progress: bool = True,
              verbose: bool = False, bands: Sequence[Band] = (),
              defaults: Mapping[float, Mapping[str, int]] | None = None,
              weights_sha256: str = "", decide: Callable[[Mapping[str, int]], Score] | None = None,
              complexity: Complexity | None = None, extra_objectives: Sequence[str] = ()
              ) -> StudyResult:
    """Run (or resume) the outer search in ``out``: ``cfg.trials`` finished trials in all.

    ``scorer`` maps a layout to a :class:`Score` (a :class:`LayoutScorer`; ``backend="ray"`` needs
    one). ``supernet_layouts``: (name, layout) pairs enqueued first, before the uniform-slimming
    layouts. ``bands``: the targets' bands, where sampled layouts are moved (``cfg.bands``) and where
    each target's architecture is chosen; ``defaults``: per target the supernet's landed layout,
    replaced only by a layout of its band better by more than the noise (:func:`choose`);
    ``decide``: a scorer on fresh validation batches that decides (and measures) what the ranking chose.
    ``weights_sha256``: the hash of the weights that score the trials, recorded with each; a study
    whose trials were scored with other weights is refused (one line, exit 2), never mixed. Ray:
    ``cfg.cpus`` CPUs for a local instance (one CPU and torch thread per trial), or
    ``cfg.ray_address``, an existing cluster (its nodes need this project importable).
    ``cost`` is what the targets and the bands are in and the study's first objective (GMACs, or the
    decode-time table's ms); ``complexity``, the GMACs recorded beside another cost;
    ``extra_objectives``, further costs the study minimises after the RD loss (``("gmacs",)``).
    """
    check_outer(cfg)
    targets = _check_targets(targets)
    if cfg.backend == "ray" and not isinstance(scorer, LayoutScorer):
        raise BadInput("backend=ray needs a LayoutScorer (its codec and frames are sent to the workers)")
    out = Path(out)
    for _, layout in supernet_layouts:
        space.check_layout(layout, "supernet layout")
    start = time.perf_counter()
    optuna.logging.set_verbosity(optuna.logging.INFO if verbose else optuna.logging.WARNING)
    projector = BandProjector(cost, bands, _tolerance(bands)) if bands and cfg.bands else None
    study = Study(out, space, cost, targets, seed, cfg.sampler, projector, cfg.storage,
                  weights_sha256, complexity, extra_objectives)
    study.check_weights()
    study.enqueue(first_layouts(space, supernet_layouts))
    bar = tqdm(total=cfg.trials, initial=min(len(study.complete()), cfg.trials), unit="trial",
               desc=f"outer {space.name} ({cfg.backend})", disable=not progress, dynamic_ncols=True)
    bar.set_postfix(best_postfix(study.study, targets))
    try:
        if cfg.backend == "optuna" and cfg.workers > 1:
            objective_s = follow_workers(study, [worker_spec(study, scorer, cfg, seed + k, projector)
                                                 for k in range(cfg.workers)], bar)
        elif cfg.backend == "optuna":
            objective_s = run_loop(study, scorer, cfg.trials, bar)
        else:
            from .ray_backend import run_ray

            objective_s = run_ray(study, scorer, cfg, bar, verbose)
    finally:
        bar.close()
    frame = trials_frame(study.study, space, targets, cost.name)
    timing = {"wall_s": time.perf_counter() - start, "optuna_s": study.optuna_s,
              "objective_s": objective_s, "trials": float(study.recorded)}
    return StudyResult(out / STUDY_FILE, targets, choose(frame, space, targets, defaults, bands, decide),
                       frame,
                       study.recorded, timing)


def _tolerance(bands: Sequence[Band]) -> float:
    """The landing tolerance the bands were made with (their narrowest relative width)."""
    return min(1 - band.low / band.target for band in bands)
