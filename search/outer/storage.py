"""The study's storage, made robust: the folder lock every write takes, heartbeats of running trials,
trials of dead processes failed and queued again, and the guard against mixing weights.

Every storage write happens under an exclusive ``fcntl`` lock on ``<out>/study.lock``, so several
processes (or machines sharing an RDB URL and the folder) may share one study.
"""
from __future__ import annotations

import contextlib
import copy
import datetime
import fcntl
import os
import socket
import threading
import time
import warnings
from pathlib import Path
from typing import Iterator, Sequence

import optuna
from optuna.trial import TrialState

from ..errors import BadInput

STUDY_NAME = "outer"
STUDY_FILE = "study.db"
LOCK_FILE = "study.lock"
#: the trial attribute naming the weights (sha256 of the checkpoint file) that scored it
WEIGHTS_KEY = "weights_sha256"
#: seconds between a running trial's heartbeats, and without one before it counts as failed
HEARTBEAT_INTERVAL, GRACE_PERIOD = 2, 10
#: how often a trial whose process died is run again
MAX_RETRY = 3


def storage_url(out: Path, url: str = "") -> str:
    """``url``, or the run folder's SQLite file."""
    return url or f"sqlite:///{(out / STUDY_FILE).resolve()}"


def owner() -> str:
    """This process, as a running trial records it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def alive(pid: int) -> bool:
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


def orphaned(trial: optuna.trial.FrozenTrial) -> bool:
    """A running trial whose process is gone: of this host and not alive, or never given an owner
    (its process died within ``ask``, which takes far less than the grace period)."""
    who = str(trial.user_attrs.get("owner", ""))
    if not who:
        started = trial.datetime_start
        return started is None or (datetime.datetime.now() - started).total_seconds() > GRACE_PERIOD
    host, _, pid = who.rpartition(":")
    return host == socket.gethostname() and pid.isdigit() and not alive(int(pid))


class StudyStorage:
    """An Optuna RDB storage with heartbeats, and the run folder's lock around every write."""

    def __init__(self, out: Path, url: str = ""):
        out.mkdir(parents=True, exist_ok=True)
        self.url = storage_url(out, url)
        self.lock_path = out / LOCK_FILE
        self.optuna_s = 0.0  # time inside Optuna (sampler + storage), lock waits included
        with self.locked(), warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeats
            # the retry callback every Optuna >= 4 has; 4.9 renamed it (a deprecation note each run)
            warnings.simplefilter("ignore", FutureWarning)
            sqlite = self.url.startswith("sqlite")
            self.rdb = optuna.storages.RDBStorage(
                self.url, engine_kwargs={"connect_args": {"timeout": 120}} if sqlite else None,
                heartbeat_interval=HEARTBEAT_INTERVAL, grace_period=GRACE_PERIOD,
                heartbeat_stale_trial_callback=optuna.storages.RetryFailedTrialCallback(MAX_RETRY))

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

    def trial_id(self, study: optuna.Study, number: int) -> int:
        study_id = self.rdb.get_study_id_from_name(study.study_name)
        return self.rdb.get_trial_id_from_study_id_trial_number(study_id, number)

    @contextlib.contextmanager
    def heartbeat(self, trial_id: int) -> Iterator[None]:
        """Record the trial's heartbeat from a thread while it is scored (Optuna records it only inside
        ``study.optimize``; the ask-score-tell loop records it itself)."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(HEARTBEAT_INTERVAL):
                self.rdb.record_heartbeat(trial_id)

        thread = threading.Thread(target=beat, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def fail_stale(self, study: optuna.Study) -> None:
        """Trials whose heartbeat stopped (their process died) fail and are queued again; so do, at
        once, those of a process of this host that is gone (a killed run resumed: no need to wait for
        their heartbeat to go stale), and those of a process killed inside ``ask`` (no owner, no
        heartbeat: Optuna would never find them stale, and the study would wait for them for ever)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
            retry = self.rdb.get_heartbeat_stale_trial_callback()
        for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if not orphaned(trial):
                continue
            trial_id = self.trial_id(study, trial.number)
            try:
                failed = self.rdb.set_trial_state_values(trial_id, state=TrialState.FAIL)
            except optuna.exceptions.UpdateFinishedTrialError:  # another process failed it first
                continue
            if failed and retry is not None and trial.params:  # a layout to score again
                retry(study, copy.deepcopy(self.rdb.get_trial(trial_id)))


def check_weights(url: str, complete: Sequence[optuna.trial.FrozenTrial], weights_sha256: str) -> None:
    """Refuse a study whose finished trials were scored with other weights than ``weights_sha256``
    (one line, exit 2): their RD losses would compare layouts of two different supernets."""
    if not weights_sha256:
        return
    other = [t for t in complete if t.user_attrs.get(WEIGHTS_KEY) != weights_sha256]
    if other:
        theirs = other[0].user_attrs.get(WEIGHTS_KEY)
        raise BadInput(f"{url}: {len(other)} trials of this study were scored with other weights "
                       f"(sha256 {theirs[:12] if theirs else 'not recorded'}) than the supernet's "
                       f"now (sha256 {weights_sha256[:12]}); not mixing them: give a fresh out= "
                       f"(or storage=) for a new study, or extend=stage1|stage2, which sets this "
                       f"study aside")
