"""The study of a run folder: its storage (:mod:`.storage`), its search policy (:mod:`.policy`) and
its objectives (:mod:`.objectives`) put together; asking for a trial and recording its score.

Each trial is a layout: one categorical option index per choice group of the space, named by the
group's first layer key.
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import optuna
from optuna.trial import TrialState

from ..complexity import Complexity, Cost
from ..space import Space
from .bands import BandProjector
from .objectives import CONSTRAINT_KEY, OBJECTIVES, attributes, constraint_key, objective_values, objectives_of
from .policy import (SAMPLERS, SOURCES, SearchPolicy, layout_of_params, make_sampler,
                     param_names, params_of, sampler_seed)
from .scorer import Score
from .storage import (GRACE_PERIOD, HEARTBEAT_INTERVAL, LOCK_FILE, MAX_RETRY, STUDY_FILE, STUDY_NAME,
                      WEIGHTS_KEY, StudyStorage, check_weights, owner, storage_url)

BACKENDS = ("optuna", "ray")

__all__ = ["BACKENDS", "CONSTRAINT_KEY", "GRACE_PERIOD", "HEARTBEAT_INTERVAL", "LOCK_FILE", "MAX_RETRY",
           "OBJECTIVES", "SAMPLERS", "SOURCES", "STUDY_FILE", "STUDY_NAME", "WEIGHTS_KEY", "Study",
           "attributes", "layout_of_params", "param_names", "params_of", "storage_url"]


class Study:
    """The study of a run folder: ask for a layout nobody has scored, record its score."""

    def __init__(self, out: Path, space: Space, cost: Cost, targets: list[float],
                 seed: int, sampler: str, projector: BandProjector | None = None, storage: str = "",
                 weights_sha256: str = "", complexity: Complexity | None = None,
                 extra_objectives: Sequence[str] = ()):
        """``cost``: what the targets are in and the first objective; ``complexity``: the GMACs,
        recorded with every trial beside a cost of another kind; ``extra_objectives``: further costs
        the study minimises after the RD loss (``("gmacs",)``: a front over time, RD loss and GMACs)."""
        self.out, self.space, self.cost, self.targets = out, space, cost, targets
        self.complexity = complexity if complexity is not None else cost
        self.objectives = objectives_of(cost.name, extra_objectives)
        self.projector = projector
        #: the hash of the weights that score this process's trials, recorded with each of them
        self.weights_sha256 = weights_sha256
        self.store = StudyStorage(out, storage)
        self.policy = SearchPolicy(space, projector)
        self.url, self.storage, self.lock_path = self.store.url, self.store.rdb, self.store.lock_path
        self.names, self.dists = self.policy.names, self.policy.dists
        self.recorded = 0  # trials this process finished
        with self.locked():
            self.study = self._open(seed, sampler)

    def _open(self, seed: int, sampler: str) -> optuna.Study:
        base = optuna.create_study(storage=self.storage, study_name=STUDY_NAME,
                                   directions=[o.direction for o in self.objectives], load_if_exists=True)
        finished = len(base.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
        self.sampler = make_sampler(sampler, sampler_seed(seed, finished))
        study = optuna.load_study(study_name=STUDY_NAME, storage=self.storage, sampler=self.sampler)
        if base.metric_names is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                study.set_metric_names([o.name for o in self.objectives])
        return study

    @property
    def optuna_s(self) -> float:
        """Seconds inside Optuna (sampler + storage), lock waits included."""
        return self.store.optuna_s

    def locked(self):
        return self.store.locked()

    def check_weights(self) -> None:
        check_weights(self.url, self.complete(), self.weights_sha256)

    def trials(self, states=None):
        return self.study.get_trials(deepcopy=False, states=states)

    def complete(self):
        return self.trials((TrialState.COMPLETE,))

    def running(self) -> int:
        return len(self.trials((TrialState.RUNNING,)))

    def busy(self) -> int:
        return len(self.trials((TrialState.COMPLETE, TrialState.RUNNING)))

    def fail_stale(self) -> None:
        self.store.fail_stale(self.study)

    def heartbeat(self, trial) -> Iterator[None]:
        return self.store.heartbeat(self.store.trial_id(self.study, trial.number))

    def taken(self) -> dict[tuple[int, ...], int]:
        return self.policy.taken(self.study)

    def enqueue(self, layouts: Sequence[tuple[str, str, Mapping[str, int]]]) -> None:
        """Queue (source, name, layout) unless that layout is already finished, running or queued."""
        with self.locked():
            self.policy.enqueue(self.study, layouts)

    def ask(self, trials: int):
        """A new trial with a layout nobody has scored, or None when ``trials`` are done or running
        (or the space is exhausted). Duplicated proposals are recorded as PRUNED; a sampled proposal
        outside every target band is PRUNED too and its projection into a band queued instead."""
        total = math.prod(self.space.group_sizes)
        with self.locked():
            self.fail_stale()
            for attempt in range(1000):
                if self.busy() >= trials:
                    return None
                taken = self.taken()
                if len(taken) >= total and not self.trials((TrialState.WAITING,)):
                    return None
                with warnings.catch_warnings():  # heartbeats are recorded by the loop itself
                    warnings.filterwarnings("ignore", message=".*Heartbeat of storage.*")
                    trial = self.study.ask(self.dists)
                if self.policy.pruned_duplicate(self.study, trial, taken):
                    continue
                if "source" not in trial.user_attrs:
                    trial.set_user_attr("source", "sampled")
                    if attempt < 50 and self.policy.moved_into_band(self.study, trial, taken):
                        continue
                trial.set_user_attr("owner", owner())
                # its first heartbeat before anyone can see it running: a trial whose process dies at
                # any point after this is failed by its stale heartbeat and run again
                self.storage.record_heartbeat(self.store.trial_id(self.study, trial.number))
                return trial
        return None

    def record(self, trial, score: Score | None, extra: Mapping[str, Any] | None = None) -> None:
        """Objectives, the constraint and the per-target attributes (and ``extra`` ones, e.g. the node
        that scored it), then ``tell`` (under the lock)."""
        with self.locked():
            if self.weights_sha256:
                trial.set_user_attr(WEIGHTS_KEY, self.weights_sha256)
            for name, value in (extra or {}).items():
                trial.set_user_attr(name, value)
            if score is None or not math.isfinite(score.rd_loss):
                self.study.tell(trial, state=TrialState.FAIL)
                return
            costs = self.costs(layout_of_params(self.space, trial.params))
            for name, value in attributes(costs, score, self.targets, self.cost.name).items():
                trial.set_user_attr(name, value)
            trial.set_constraint(constraint_key(self.cost.name), costs[self.cost.name] - max(self.targets))
            self.study.tell(trial, objective_values(costs, score, self.objectives))
            self.recorded += 1

    def costs(self, layout: Mapping[str, int]) -> dict[str, float]:
        """The search's cost of ``layout`` and, when that is not GMACs, its GMACs too."""
        return {self.cost.name: self.cost.of_layout(layout), "gmacs": self.complexity.of_layout(layout)}
