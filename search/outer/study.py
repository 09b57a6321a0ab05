"""The SQLite study of a run folder: parameters of a layout, enqueueing, asking, recording, locking.

Each trial is a layout: one categorical option index per choice group of the space, named by the
group's first layer key. Every storage write happens under an exclusive ``fcntl`` lock on
``<out>/study.lock``, so several processes may share one folder.
"""
from __future__ import annotations

import contextlib
import copy
import datetime
import fcntl
import math
import os
import socket
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import optuna
from optuna.trial import TrialState

from ..complexity import Complexity
from ..errors import BadInput
from ..space import Space
from .bands import BandProjector
from .scorer import Score

STUDY_NAME = "outer"
STUDY_FILE = "study.db"
LOCK_FILE = "study.lock"
BACKENDS = ("optuna", "ray")
SAMPLERS = ("tpe", "nsga2", "random")
CONSTRAINT_KEY = "gmacs<=max_target"
SOURCES = ("enqueued-supernet", "enqueued-uniform", "sampled")
#: the trial attribute naming the weights (sha256 of the checkpoint file) that scored it
WEIGHTS_KEY = "weights_sha256"


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


def _key(params: Mapping[str, Any], names: Sequence[str]) -> tuple[int, ...]:
    return tuple(int(params[n]) for n in names)


def _sampler_seed(seed: int, finished: int) -> int:
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


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(pid: int) -> bool:
    """Whether process ``pid`` of this host runs (this process counts as running)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


#: seconds between a running trial's heartbeats, and without one before it counts as failed
HEARTBEAT_INTERVAL, GRACE_PERIOD = 2, 10
#: how often a trial whose process died is run again
MAX_RETRY = 3


def storage_url(out: Path, url: str = "") -> str:
    """``url``, or the run folder's SQLite file."""
    return url or f"sqlite:///{(out / STUDY_FILE).resolve()}"


class Study:
    """The SQLite study of a run folder, with the exclusive lock every storage write takes."""

    def __init__(self, out: Path, space: Space, complexity: Complexity, targets: list[float],
                 seed: int, sampler: str, projector: BandProjector | None = None, storage: str = "",
                 weights_sha256: str = ""):
        self.out, self.space, self.complexity, self.targets = out, space, complexity, targets
        self.projector = projector
        #: the hash of the weights that score this process's trials, recorded with each of them
        self.weights_sha256 = weights_sha256
        self.url = storage_url(out, storage)
        self.names = param_names(space)
        self.dists = distributions(space)
        out.mkdir(parents=True, exist_ok=True)
        self.lock_path = out / LOCK_FILE
        self.optuna_s = 0.0  # time inside Optuna (sampler + storage), lock waits included
        self.recorded = 0  # trials this process finished
        with self.locked():
            url = storage_url(out, storage)
            with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna 5
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                # the retry callback every Optuna >= 4 has; 4.9 renamed it (a deprecation note each run)
                warnings.simplefilter("ignore", FutureWarning)
                self.storage = optuna.storages.RDBStorage(
                    url, engine_kwargs={"connect_args": {"timeout": 120}} if url.startswith("sqlite") else None,
                    heartbeat_interval=HEARTBEAT_INTERVAL, grace_period=GRACE_PERIOD,
                    heartbeat_stale_trial_callback=optuna.storages.RetryFailedTrialCallback(MAX_RETRY))
            base = optuna.create_study(storage=self.storage, study_name=STUDY_NAME,
                                       directions=["minimize", "minimize"], load_if_exists=True)
            finished = len(base.get_trials(deepcopy=False,
                                           states=(TrialState.COMPLETE,)))
            self.sampler = make_sampler(sampler, _sampler_seed(seed, finished))
            self.study = optuna.load_study(study_name=STUDY_NAME, storage=self.storage,
                                           sampler=self.sampler)
            if base.metric_names is None:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                    self.study.set_metric_names(["gmacs", "rd_loss"])
            self.study_id = self.storage.get_study_id_from_name(STUDY_NAME)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        start = time.perf_counter()
        with open(self.lock_path, "a+") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)
                self.optuna_s += time.perf_counter() - start

    def check_weights(self) -> None:
        """Refuse a study whose finished trials were scored with other weights than this process's
        (one line, exit 2): their RD losses would compare layouts of two different supernets."""
        if not self.weights_sha256:
            return
        other = [t for t in self.complete() if t.user_attrs.get(WEIGHTS_KEY) != self.weights_sha256]
        if other:
            theirs = other[0].user_attrs.get(WEIGHTS_KEY)
            raise BadInput(f"{self.url}: {len(other)} trials of this study were scored with other weights "
                           f"(sha256 {theirs[:12] if theirs else 'not recorded'}) than the supernet's "
                           f"now (sha256 {self.weights_sha256[:12]}); not mixing them: give a fresh out= "
                           f"(or storage=) for a new study, or extend=stage1|stage2, which sets this "
                           f"study aside")

    def trials(self, states=None):
        return self.study.get_trials(deepcopy=False, states=states)

    def complete(self):
        return self.trials((TrialState.COMPLETE,))

    def fail_stale(self) -> None:
        """Trials whose heartbeat stopped (their process died) fail and are queued again; so do, at
        once, those of a process of this host that is gone (a killed run resumed: no need to wait for
        their heartbeat to go stale), and those of a process killed inside :meth:`ask` (no owner, no
        heartbeat: Optuna would never find them stale, and the study would wait for them for ever)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(self.study)
            retry = self.storage.get_heartbeat_stale_trial_callback()
        for trial in self.trials((TrialState.RUNNING,)):
            if not self._orphaned(trial):
                continue
            trial_id = self._trial_id(trial)
            try:
                failed = self.storage.set_trial_state_values(trial_id, state=TrialState.FAIL)
            except optuna.exceptions.UpdateFinishedTrialError:  # another process failed it first
                continue
            if failed and retry is not None and trial.params:  # a layout to score again
                retry(self.study, copy.deepcopy(self.storage.get_trial(trial_id)))

    @staticmethod
    def _orphaned(trial) -> bool:
        """A running trial whose process is gone: of this host and not alive, or never given an owner
        (its process died within :meth:`ask`, which takes far less than the grace period)."""
        owner = str(trial.user_attrs.get("owner", ""))
        if not owner:
            started = trial.datetime_start
            return started is None or (datetime.datetime.now() - started).total_seconds() > GRACE_PERIOD
        host, _, pid = owner.rpartition(":")
        return host == socket.gethostname() and pid.isdigit() and not _alive(int(pid))

    def running(self) -> int:
        return len(self.trials((TrialState.RUNNING,)))

    @contextlib.contextmanager
    def heartbeat(self, trial) -> Iterator[None]:
        """Record the trial's heartbeat from a thread while it is scored (Optuna records it only inside
        ``study.optimize``; this ask-and-tell loop records it itself)."""
        trial_id = self._trial_id(trial)
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(HEARTBEAT_INTERVAL):
                self.storage.record_heartbeat(trial_id)

        thread = threading.Thread(target=beat, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def _trial_id(self, trial) -> int:
        return self.storage.get_trial_id_from_study_id_trial_number(self.study_id, trial.number)

    def taken(self) -> dict[tuple[int, ...], int]:
        """Layouts finished, running or queued -> a trial number holding them."""
        out = {}
        for t in self.trials((TrialState.COMPLETE, TrialState.RUNNING, TrialState.WAITING)):
            params = t.params or t.user_attrs.get("queued_params", {})
            if all(n in params for n in self.names):
                out.setdefault(_key(params, self.names), t.number)
        return out

    def enqueue(self, layouts: Sequence[tuple[str, str, Mapping[str, int]]]) -> None:
        """Queue (source, name, layout) unless that layout is already finished, running or queued."""
        with self.locked():
            taken = self.taken()
            for source, name, layout in layouts:
                params = params_of(self.space, layout)
                key = _key(params, self.names)
                if key in taken:
                    continue
                self.study.enqueue_trial(params, user_attrs={"source": source, "name": name,
                                                             "queued_params": params})
                taken[key] = -1

    def busy(self) -> int:
        return len(self.trials((TrialState.COMPLETE, TrialState.RUNNING)))

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
                with warnings.catch_warnings():  # heartbeats are recorded by this loop itself
                    warnings.filterwarnings("ignore", message=".*Heartbeat of storage.*")
                    trial = self.study.ask(self.dists)
                key = _key(trial.params, self.names)
                if key in taken and taken[key] != trial.number:
                    trial.set_user_attr("duplicate_of", int(taken[key]))
                    self.study.tell(trial, state=TrialState.PRUNED)
                    continue
                if "source" not in trial.user_attrs:
                    trial.set_user_attr("source", "sampled")
                    if attempt < 50 and self._moved_into_band(trial, taken):
                        continue
                trial.set_user_attr("owner", _owner())
                # its first heartbeat before anyone can see it running: a trial whose process dies at
                # any point after this is failed by its stale heartbeat and run again
                self.storage.record_heartbeat(self._trial_id(trial))
                return trial
        return None

    def _moved_into_band(self, trial, taken: Mapping[tuple[int, ...], int]) -> bool:
        """Queue the projection of a sampled proposal outside every band (True: ``trial`` was pruned)."""
        choice = list(_key(trial.params, self.names))
        if self.projector is None or self.projector.inside(choice):
            return False
        sampled = [t for t in self.trials((TrialState.COMPLETE, TrialState.RUNNING))
                   if t.user_attrs.get("source") == "sampled"]
        band = self.projector.bands[len(sampled) % len(self.projector.bands)]
        projected = self.projector.project(choice, band)
        trial.set_user_attr("projected_into", band.target)
        self.study.tell(trial, state=TrialState.PRUNED)
        if tuple(projected) not in taken:
            params = dict(zip(self.names, projected))
            self.study.enqueue_trial(params, user_attrs={"source": "sampled", "band": band.target,
                                                         "proposal": int(trial.number),
                                                         "queued_params": params})
        return True

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
            gmacs = self.complexity.gmacs(layout_of_params(self.space, trial.params))
            for name, value in attributes(gmacs, score, self.targets).items():
                trial.set_user_attr(name, value)
            trial.set_constraint(CONSTRAINT_KEY, gmacs - max(self.targets))
            self.study.tell(trial, [gmacs, score.rd_loss])
            self.recorded += 1


def attributes(gmacs: float, score: Score, targets: Sequence[float]) -> dict[str, Any]:
    out: dict[str, Any] = {"gmacs": gmacs, "rd_loss": score.rd_loss, "bpp": score.bpp,
                           "psnr": score.psnr, "mse": score.mse, "score_s": score.seconds,
                           "rd_noise": score.noise, "batch_losses": list(score.batch_losses)}
    for t in targets:
        out[f"gap@{t:g}"] = gmacs - t
        out[f"feasible@{t:g}"] = bool(gmacs <= t)
    return out
