"""The study's search policy: how a layout is a trial's parameters, which sampler proposes them, no
layout twice, and sampled proposals moved into the targets' bands."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import optuna
from optuna.trial import TrialState

from ..errors import BadInput
from ..space import Space
from .bands import BandProjector

SAMPLERS = ("tpe", "nsga2", "random")
SOURCES = ("enqueued-supernet", "enqueued-uniform", "sampled")


def param_names(space: Space) -> list[str]:
    """One categorical parameter per choice group, named by the group's first layer key."""
    return [g[0] for g in space.groups]


def distributions(space: Space) -> dict[str, Any]:
    return {name: optuna.distributions.CategoricalDistribution(list(range(n)))
            for name, n in zip(param_names(space), space.group_sizes)}


def params_of(space: Space, layout: Mapping[str, int]) -> dict[str, int]:
    return {name: int(i) for name, i in zip(param_names(space), space.choice_of(layout))}


def layout_of_params(space: Space, params: Mapping[str, Any]) -> dict[str, int]:
    return space.layout_of([int(params[name]) for name in param_names(space)])


def param_key(params: Mapping[str, Any], names: Sequence[str]) -> tuple[int, ...]:
    return tuple(int(params[n]) for n in names)


def sampler_seed(seed: int, finished: int) -> int:
    """The sampler's seed from the user's seed and the finished trials: a resumed run does not replay
    the first run's proposals, and the same seed on the same folder gives the same trials."""
    return int(np.random.SeedSequence([int(seed), int(finished), 5]).generate_state(1)[0])


def make_sampler(kind: str, seed: int):
    if kind == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True,
                                          n_startup_trials=10)
    if kind == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=20)
    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise BadInput(f"sampler={kind!r}: accepted: {', '.join(SAMPLERS)}")


class SearchPolicy:
    """Duplicates and bands over an Optuna study's trials (the caller holds the storage lock)."""

    def __init__(self, space: Space, projector: BandProjector | None = None):
        self.space, self.projector = space, projector
        self.names = param_names(space)
        self.dists = distributions(space)

    def taken(self, study: optuna.Study) -> dict[tuple[int, ...], int]:
        """Layouts finished, running or queued -> a trial number holding them."""
        out = {}
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.RUNNING,
                                                          TrialState.WAITING)):
            params = t.params or t.user_attrs.get("queued_params", {})
            if all(n in params for n in self.names):
                out.setdefault(param_key(params, self.names), t.number)
        return out

    def enqueue(self, study: optuna.Study, layouts: Sequence[tuple[str, str, Mapping[str, int]]]) -> None:
        """Queue (source, name, layout) unless that layout is already finished, running or queued."""
        taken = self.taken(study)
        for source, name, layout in layouts:
            params = params_of(self.space, layout)
            key = param_key(params, self.names)
            if key in taken:
                continue
            study.enqueue_trial(params, user_attrs={"source": source, "name": name,
                                                    "queued_params": params})
            taken[key] = -1

    def pruned_duplicate(self, study: optuna.Study, trial, taken: Mapping[tuple[int, ...], int]) -> bool:
        """Record a proposal of a layout another trial holds as PRUNED (True: ``trial`` was pruned)."""
        key = param_key(trial.params, self.names)
        if key not in taken or taken[key] == trial.number:
            return False
        trial.set_user_attr("duplicate_of", int(taken[key]))
        study.tell(trial, state=TrialState.PRUNED)
        return True

    def moved_into_band(self, study: optuna.Study, trial, taken: Mapping[tuple[int, ...], int]) -> bool:
        """Queue the projection of a sampled proposal outside every band (True: ``trial`` was pruned);
        the bands take turns, so every target gets its share of sampled trials."""
        choice = list(param_key(trial.params, self.names))
        if self.projector is None or self.projector.inside(choice):
            return False
        sampled = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,
                                                                       TrialState.RUNNING))
                   if t.user_attrs.get("source") == "sampled"]
        band = self.projector.bands[len(sampled) % len(self.projector.bands)]
        projected = self.projector.project(choice, band)
        trial.set_user_attr("projected_into", band.target)
        study.tell(trial, state=TrialState.PRUNED)
        if tuple(projected) not in taken:
            params = dict(zip(self.names, projected))
            study.enqueue_trial(params, user_attrs={"source": "sampled", "band": band.target,
                                                    "proposal": int(trial.number),
                                                    "queued_params": params})
        return True
