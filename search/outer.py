"""The outer search loop (issue 5, DESIGN.md "Outer loop"): an Optuna multi-objective study over layouts.

Each trial is a layout, one categorical option index per choice group of the space (``space.groups``:
tied layers share one index, so ties hold by construction), named by the group's first layer key;
index 0 is the full width. A trial is scored with the supernet's *shared* weights: the full-width codec
run with hard channel masks at that layout (:meth:`search.codec.Codec.set_layout_masks`), on a fixed
set of validation frame pairs, in one batched forward (:class:`LayoutScorer`). Its two objectives,
both minimised, are the decoder GMACs (closed form, :class:`search.complexity.Complexity`) and the RD
loss ``R + lambda * MSE`` (Eq. 1 of the cgSlimDecoder supplementary, :func:`search.rd.rd_loss`).

**Targets as constraints.** Optuna 5 treats a trial as feasible when *all* of its constraint values
(``trial.set_constraint``) are <= 0, and its samplers (TPE, NSGA-II) prefer feasible trials. One
constraint per target ``gmacs - t`` would make only layouts under the *lowest* target feasible and push
the whole search there, starving the higher targets. So the study carries one constraint,
``gmacs - max(targets)`` (key ``"gmacs<=max_target"``): a trial is feasible when it serves at least one
target, and GMACs, being an objective, spreads the Pareto front over all of them. Per-target
feasibility is recorded beside it as user attributes ``gap@<t> = gmacs - t`` and ``feasible@<t>``,
and the chosen architecture of target ``t`` is the trial with ``gmacs <= t`` and the lowest RD loss.

**Storage and resuming.** The study lives in ``<out>/study.db`` (SQLite, ``optuna-dashboard`` opens
it), study name :data:`STUDY_NAME`. Running again on the same folder keeps every finished trial and
counts it toward ``trials=``; no layout is scored twice (a sampler proposal equal to a finished, running
or queued layout is recorded as PRUNED with ``duplicate_of`` and not scored). The sampler's seed is
derived from ``(seed, finished trials)``, so the same seed on the same folder gives the same trials
and a resumed run does not replay the first run's random proposals. Every storage write (study
creation, enqueueing, ``ask`` with the duplicate check, ``tell``) happens under an exclusive
``fcntl`` lock on ``<out>/study.lock``, so several processes may share one folder: together they
finish exactly ``trials`` trials, none twice. A trial left RUNNING by a killed process of this host
is marked FAIL on the next start, and its layout is scored again.

**Enqueued first trials**: the supernet's landed level layouts (``source="enqueued-supernet"``), then
the uniform-slimming layouts ``space.uniform_layout(i)`` (``source="enqueued-uniform"``, the
SlimVC-style baseline); sampled trials have ``source="sampled"``.

**Ray.** ``backend="ray"`` runs the same objective as Ray Tune function trials, searched by a subclass
of Ray's ``OptunaSearch`` given the same storage, study name and sampler, so the trials land in the
same ``study.db`` (Tune's own files go to ``<out>/ray``). The driver does the duplicate check in
``suggest`` and records GMACs, constraint and user attributes in ``on_trial_complete``; workers only
score. The scorer is put into Ray's object store once and cached per worker process (module-level
cache keyed by a token), not shipped per trial.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import re
import socket
import sys
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from .codec import ROOT, Codec
from .complexity import Complexity
from .data import Clips, TrainPairs
from .errors import BadInput
from .rd import psnr, rd_loss
from .space import Space

STUDY_NAME = "outer"
STUDY_FILE = "study.db"
LOCK_FILE = "study.lock"
BACKENDS = ("optuna", "ray")
SAMPLERS = ("tpe", "nsga2", "random")
CONSTRAINT_KEY = "gmacs<=max_target"
SOURCES = ("enqueued-supernet", "enqueued-uniform", "sampled")


# ------------------------------------------------------------------------------- validation frames

def validation_pairs(data: str | Path = "default", count: int = 4, crop: int = 64, seed: int = 0,
                     multiple: int = 64, max_frames: int | None = 60) -> torch.Tensor:
    """``[count, 2, 3, crop, crop]`` fixed (reference, current) pairs from the real clips of ``data``.

    Crops come from :class:`search.data.TrainPairs` with flips off and a fixed seed, so every trial
    (and every resumed run) sees the same frames. ``crop`` must be a multiple of the codec's
    ``multiple``; ``max_frames`` limits how much of each clip is decoded.
    """
    if count < 1:
        raise BadInput(f"validation count={count}: expected at least 1 frame pair")
    if crop < 1 or crop % multiple:
        raise BadInput(f"validation crop={crop}: expected a positive multiple of the codec's "
                       f"{multiple}")
    clips = Clips(data, max_frames=max_frames)
    pairs = TrainPairs(clips, crop, 2, samples_per_epoch=count, seed=seed, hflip=False, vflip=False,
                       skip_small=True)
    return torch.stack([pairs[i] for i in range(count)])


# ------------------------------------------------------------------------------------------ scorer

@dataclass
class Score:
    """RD figures of one layout on the validation pairs (likelihood rates, rounded latents)."""

    rd_loss: float
    bpp: float
    psnr: float
    mse: float
    seconds: float = 0.0


class LayoutScorer:
    """Scores layouts with the supernet's shared weights: the full-width ``codec`` run with hard masks
    at the layout (eval mode: rounded latents; rates from likelihoods; no grad), all validation pairs
    ``frames [n, 2, 3, h, w]`` in one batched forward. Returns ``R + lambda * MSE`` with bpp and PSNR.
    """

    def __init__(self, codec: Codec, lmbda: float, frames: torch.Tensor):
        if not isinstance(frames, torch.Tensor) or frames.dim() != 5 or frames.shape[1:3] != (2, 3):
            shape = list(frames.shape) if isinstance(frames, torch.Tensor) else type(frames).__name__
            raise BadInput(f"validation frames: expected a tensor [n, 2, 3, h, w], got {shape}")
        m = codec.MULTIPLE
        if frames.shape[-1] % m or frames.shape[-2] % m:
            raise BadInput(f"validation frames are {frames.shape[-2]}x{frames.shape[-1]}: expected "
                           f"multiples of the codec's {m}")
        if not (isinstance(lmbda, (int, float)) and math.isfinite(lmbda) and lmbda > 0):
            raise BadInput(f"lmbda={lmbda!r}: expected a positive number")
        self.codec, self.lmbda = codec, float(lmbda)
        self.frames = frames.contiguous()

    @torch.no_grad()
    def score_model(self, model: Codec) -> Score:
        """Score ``model`` as it is (a sliced model, or the full one with masks already set)."""
        start = time.perf_counter()
        was_training = model.training
        model.eval()
        try:
            ref, x = self.frames[:, 0], self.frames[:, 1]
            out = model(ref, x)
            figures = rd_loss(out, x, self.lmbda)
            score = Score(float(figures["loss"]), float(figures["bpp"]), psnr(out["x_hat"], x),
                          float(figures["mse"]))
        finally:
            model.train(was_training)
        score.seconds = time.perf_counter() - start
        return score

    def __call__(self, layout: Mapping[str, int]) -> Score:
        with self.codec.at_layout(layout):
            return self.score_model(self.codec)


# ------------------------------------------------------------------------------------------ records

@dataclass
class Chosen:
    """The architecture chosen for one target: the feasible trial with the lowest RD loss."""

    target: float
    number: int
    gmacs: float
    rd_loss: float
    bpp: float
    psnr: float
    source: str
    name: str
    layout: dict[str, int]


@dataclass
class StudyResult:
    """What :func:`run_study` leaves: per target the chosen architecture (None: no feasible trial),
    every finished trial as a DataFrame (the caller writes it as ``trials.csv``), and timings."""

    path: Path
    targets: list[float]
    chosen: dict[float, Chosen | None]
    trials: pd.DataFrame
    new_trials: int
    timing: dict[str, float] = field(default_factory=dict)


# ----------------------------------------------------------------------------------------- helpers

def param_names(space: Space) -> list[str]:
    """One categorical parameter per choice group, named by the group's first layer key."""
    return [g[0] for g in space.groups]


def distributions(space: Space) -> dict[str, Any]:
    import optuna

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
    import optuna

    if kind == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True,
                                          n_startup_trials=10)
    if kind == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=20)
    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise BadInput(f"sampler={kind!r}: accepted: {', '.join(SAMPLERS)}")


_RAY_ADDRESS = re.compile(r"^(auto|(ray://)?[A-Za-z0-9._-]+:\d{1,5})$")


def _check_inputs(trials: int, backend: str, ray_address: str | None, targets: Sequence[float],
                  cpus: int) -> list[float]:
    if isinstance(trials, bool) or not isinstance(trials, (int, np.integer)) or trials < 1:
        raise BadInput(f"trials={trials!r}: expected a whole number >= 1")
    if backend not in BACKENDS:
        raise BadInput(f"backend={backend!r}: accepted: {', '.join(BACKENDS)}")
    if ray_address and not _RAY_ADDRESS.match(str(ray_address)):
        raise BadInput(f"ray_address={ray_address!r}: expected 'auto', 'HOST:PORT' or "
                       f"'ray://HOST:PORT' (empty: a local Ray instance)")
    if ray_address and backend != "ray":
        raise BadInput(f"ray_address={ray_address!r} needs backend=ray (backend={backend!r})")
    if isinstance(cpus, bool) or not isinstance(cpus, (int, np.integer)) or cpus < 1:
        raise BadInput(f"cpus={cpus!r}: expected a whole number >= 1")
    values = [float(t) for t in targets]
    if not values or any(not math.isfinite(t) or t <= 0 for t in values):
        raise BadInput(f"target_gmacs={list(targets)}: expected one or more positive numbers")
    return sorted(set(values), reverse=True)


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(owner: str) -> bool:
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname():
        return True  # another host's trial: cannot tell, leave it alone
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True


# -------------------------------------------------------------------------------------------- study

class _Study:
    """The SQLite study of a run folder, with the exclusive lock every storage write takes."""

    def __init__(self, out: Path, space: Space, complexity: Complexity, targets: list[float],
                 seed: int, sampler: str):
        import optuna

        self.out, self.space, self.complexity, self.targets = out, space, complexity, targets
        self.names = param_names(space)
        self.dists = distributions(space)
        out.mkdir(parents=True, exist_ok=True)
        self.lock_path = out / LOCK_FILE
        self.optuna_s = 0.0  # time inside Optuna (sampler + storage), lock waits included
        self.recorded = 0  # trials this process finished
        with self.locked():
            self.storage = optuna.storages.RDBStorage(
                f"sqlite:///{(out / STUDY_FILE).resolve()}",
                engine_kwargs={"connect_args": {"timeout": 120}})
            base = optuna.create_study(storage=self.storage, study_name=STUDY_NAME,
                                       directions=["minimize", "minimize"], load_if_exists=True)
            finished = len(base.get_trials(deepcopy=False,
                                           states=(optuna.trial.TrialState.COMPLETE,)))
            self.sampler = make_sampler(sampler, _sampler_seed(seed, finished))
            self.study = optuna.load_study(study_name=STUDY_NAME, storage=self.storage,
                                           sampler=self.sampler)
            if base.metric_names is None:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                    self.study.set_metric_names(["gmacs", "rd_loss"])
            self._fail_orphans()

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

    def trials(self, states=None):
        return self.study.get_trials(deepcopy=False, states=states)

    def complete(self):
        import optuna

        return self.trials((optuna.trial.TrialState.COMPLETE,))

    def _fail_orphans(self) -> None:
        import optuna

        for t in self.trials((optuna.trial.TrialState.RUNNING,)):
            owner = t.user_attrs.get("owner", "")
            if owner and not _alive(owner):
                self.storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)

    def taken(self) -> dict[tuple[int, ...], int]:
        """Layouts finished, running or queued -> a trial number holding them."""
        import optuna

        states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.RUNNING,
                  optuna.trial.TrialState.WAITING)
        out = {}
        for t in self.trials(states):
            params = t.params if t.params else t.system_attrs.get("fixed_params", {})
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
                self.study.enqueue_trial(params, user_attrs={"source": source, "name": name})
                taken[key] = -1

    def busy(self) -> int:
        import optuna

        return len(self.trials((optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.RUNNING)))

    def ask(self, trials: int):
        """A new trial with a layout nobody has scored, or None when ``trials`` are done or running
        (or the space is exhausted). Duplicated proposals are recorded as PRUNED."""
        import optuna

        total = math.prod(self.space.group_sizes)
        with self.locked():
            for _ in range(1000):
                if self.busy() >= trials:
                    return None
                taken = self.taken()
                if len(taken) >= total and not self.trials((optuna.trial.TrialState.WAITING,)):
                    return None
                trial = self.study.ask(self.dists)
                key = _key(trial.params, self.names)
                if key in taken and taken[key] != trial.number:
                    trial.set_user_attr("duplicate_of", int(taken[key]))
                    self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                    continue
                if "source" not in trial.user_attrs:
                    trial.set_user_attr("source", "sampled")
                trial.set_user_attr("owner", _owner())
                return trial
        return None

    def record(self, trial, score: Score | None) -> None:
        """Objectives, the constraint and the per-target attributes, then ``tell`` (under the lock)."""
        import optuna

        with self.locked():
            if score is None or not math.isfinite(score.rd_loss):
                self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
                return
            gmacs = self.complexity.gmacs(layout_of_params(self.space, trial.params))
            for name, value in attributes(gmacs, score, self.targets).items():
                trial.set_user_attr(name, value)
            trial.set_constraint(CONSTRAINT_KEY, gmacs - max(self.targets))
            self.study.tell(trial, [gmacs, score.rd_loss])
            self.recorded += 1


def attributes(gmacs: float, score: Score, targets: Sequence[float]) -> dict[str, Any]:
    out: dict[str, Any] = {"gmacs": gmacs, "rd_loss": score.rd_loss, "bpp": score.bpp,
                           "psnr": score.psnr, "mse": score.mse, "score_s": score.seconds}
    for t in targets:
        out[f"gap@{t:g}"] = gmacs - t
        out[f"feasible@{t:g}"] = bool(gmacs <= t)
    return out


# ------------------------------------------------------------------------------------------ results

def trials_frame(study, space: Space, targets: Sequence[float]) -> pd.DataFrame:
    """Every COMPLETE trial: number, gmacs, rd_loss, bpp, psnr, feasible@<t>, source, name, params."""
    import optuna

    rows = []
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        gmacs, loss = t.values
        row = {"number": t.number, "gmacs": gmacs, "rd_loss": loss,
               "bpp": t.user_attrs.get("bpp", float("nan")),
               "psnr": t.user_attrs.get("psnr", float("nan"))}
        for target in targets:
            row[f"feasible@{target:g}"] = bool(gmacs <= target)
        row["source"] = t.user_attrs.get("source", "sampled")
        row["name"] = t.user_attrs.get("name", "")
        row["params"] = json.dumps({n: int(t.params[n]) for n in param_names(space)})
        rows.append(row)
    columns = ["number", "gmacs", "rd_loss", "bpp", "psnr"] + \
        [f"feasible@{t:g}" for t in targets] + ["source", "name", "params"]
    return pd.DataFrame(rows, columns=columns).sort_values("number").reset_index(drop=True)


def choose(frame: pd.DataFrame, space: Space, targets: Sequence[float]) -> dict[float, Chosen | None]:
    """Per target, the feasible trial (gmacs <= target) with the lowest RD loss (ties: fewer GMACs)."""
    out: dict[float, Chosen | None] = {}
    for t in targets:
        ok = frame[frame["gmacs"] <= t]
        if ok.empty:
            out[t] = None
            continue
        best = ok.sort_values(["rd_loss", "gmacs", "number"]).iloc[0]
        params = json.loads(best["params"])
        out[t] = Chosen(t, int(best["number"]), float(best["gmacs"]), float(best["rd_loss"]),
                        float(best["bpp"]), float(best["psnr"]), str(best["source"]),
                        str(best["name"]), layout_of_params(space, params))
    return out


def _best_postfix(study, targets: Sequence[float]) -> dict[str, str]:
    import optuna

    best = {t: math.inf for t in targets}
    for tr in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        for t in targets:
            if tr.values[0] <= t:
                best[t] = min(best[t], tr.values[1])
    return {f"best@{t:g}": ("-" if math.isinf(v) else f"{v:.4g}") for t, v in best.items()}


def first_layouts(space: Space, supernet: Sequence[tuple[str, Mapping[str, int]]] = ()
                  ) -> list[tuple[str, str, dict[str, int]]]:
    """(source, name, layout) of the trials enqueued first: the supernet's level layouts, then every
    uniform-slimming layout (each choice at the same option index)."""
    out = [("enqueued-supernet", name, dict(layout)) for name, layout in supernet]
    count = max(space.group_sizes, default=1)
    out += [("enqueued-uniform", f"Uniform {i + 1}/{count}", space.uniform_layout(i))
            for i in range(count)]
    return out


# -------------------------------------------------------------------------------------------- run

def run_study(scorer: Callable[[Mapping[str, int]], Score], space: Space, complexity: Complexity,
              targets: Sequence[float], out: Path | str, *, trials: int, seed: int = 0,
              supernet_layouts: Sequence[tuple[str, Mapping[str, int]]] = (),
              backend: str = "optuna", sampler: str = "tpe", cpus: int = 1,
              ray_address: str | None = None, progress: bool = True) -> StudyResult:
    """Run (or resume) the outer search in ``out``: ``trials`` finished trials in all.

    ``scorer`` maps a layout to a :class:`Score` (a :class:`LayoutScorer`; ``backend="ray"`` needs
    one). ``supernet_layouts``: (name, layout) pairs enqueued first, before the uniform-slimming
    layouts. ``cpus``: Ray CPUs for a local instance (one CPU and torch thread per trial);
    ``ray_address``: an existing cluster instead (its nodes need this project importable).
    """
    targets = _check_inputs(trials, backend, ray_address, targets, cpus)
    if sampler not in SAMPLERS:
        raise BadInput(f"sampler={sampler!r}: accepted: {', '.join(SAMPLERS)}")
    if backend == "ray" and not isinstance(scorer, LayoutScorer):
        raise BadInput("backend=ray needs a LayoutScorer (its codec and frames are sent to the workers)")
    out = Path(out)
    for _, layout in supernet_layouts:
        space.check_layout(layout, "supernet layout")
    start = time.perf_counter()
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the progress bar says it per trial
    st = _Study(out, space, complexity, targets, seed, sampler)
    st.enqueue(first_layouts(space, supernet_layouts))
    before = len(st.complete())
    bar = tqdm(total=trials, initial=min(before, trials), desc=f"outer {space.name} ({backend})",
               unit="trial", disable=not progress, dynamic_ncols=True)
    bar.set_postfix(_best_postfix(st.study, targets))
    objective_s = 0.0
    try:
        if backend == "optuna":
            while True:
                trial = st.ask(trials)
                if trial is None:
                    break
                t0 = time.perf_counter()
                try:
                    score = scorer(layout_of_params(space, trial.params))
                except Exception:
                    st.record(trial, None)
                    raise
                objective_s += time.perf_counter() - t0
                st.record(trial, score)
                bar.update(1)
                bar.set_postfix(_best_postfix(st.study, targets))
        else:
            objective_s = _run_ray(st, scorer, trials, cpus, ray_address, bar)
    finally:
        bar.close()
    frame = trials_frame(st.study, space, targets)
    wall = time.perf_counter() - start
    new = st.recorded
    timing = {"wall_s": wall, "optuna_s": st.optuna_s, "objective_s": objective_s,
              "trials": float(new)}
    return StudyResult(out / STUDY_FILE, targets, choose(frame, space, targets), frame, new, timing)


# ---------------------------------------------------------------------------------------------- ray

_WORKER_CACHE: dict[str, LayoutScorer] = {}


def _ray_trial(config: dict, token: str, holder: list, threads: int) -> dict:
    """One Ray Tune trial: score the layout in ``config["layout"]`` with the cached scorer."""
    import ray

    torch.set_num_threads(max(1, threads))
    scorer = _WORKER_CACHE.get(token)
    if scorer is None:
        scorer = _WORKER_CACHE[token] = ray.get(holder[0])
    score = scorer(config["layout"])
    return {"rd_loss": score.rd_loss, "bpp": score.bpp, "psnr": score.psnr, "mse": score.mse,
            "score_s": score.seconds, "gmacs": float(config["gmacs"])}


def _run_ray(st: _Study, scorer: LayoutScorer, trials: int, cpus: int, ray_address: str | None,
             bar: tqdm) -> float:
    import ray
    from ray import cloudpickle, tune
    from ray.tune.search.optuna import OptunaSearch

    remaining = trials - st.busy()
    if remaining <= 0:
        return 0.0
    started = False
    if not ray.is_initialized():
        env = {"env_vars": {"PYTHONPATH": os.pathsep.join(
            [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}}
        try:
            if ray_address:
                ray.init(address=ray_address, include_dashboard=False, log_to_driver=False,
                         runtime_env={"py_modules": [str(ROOT / "search")]})
            else:
                ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False,
                         runtime_env=env, configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as err:
            raise BadInput(f"ray_address={ray_address or ''!r}: cannot start or reach Ray "
                           f"({str(err).splitlines()[0] if str(err) else type(err).__name__})") from None
        started = True
    # codec classes live in modules loaded by path (search.codec.load_codec): pickle them by value
    module = sys.modules.get(type(scorer.codec).__module__)
    if module is not None and module.__name__.startswith("_search_codecs"):
        cloudpickle.register_pickle_by_value(module)
    objective_s = [0.0]
    try:
        token = uuid.uuid4().hex
        holder = [ray.put(scorer)]
        space, complexity = st.space, st.complexity

        class LayoutSearch(OptunaSearch):
            """OptunaSearch on our study: duplicate check in ``suggest`` (under the folder's lock),
            GMACs, constraint and per-target attributes recorded in ``on_trial_complete``."""

            def suggest(self, trial_id: str):
                if trial_id not in self._ot_trials:
                    trial = st.ask(trials)
                    if trial is None:
                        from ray.tune.search import Searcher
                        return Searcher.FINISHED
                    self._ot_trials[trial_id] = trial
                trial = self._ot_trials[trial_id]
                layout = layout_of_params(space, trial.params)
                return {"layout": layout, "gmacs": complexity.gmacs(layout),
                        "number": trial.number}

            def on_trial_complete(self, trial_id: str, result: dict | None = None,
                                  error: bool = False):
                if trial_id in self._completed_trials or trial_id not in self._ot_trials:
                    return
                trial = self._ot_trials[trial_id]
                score = None
                if result and not error and "rd_loss" in result:
                    score = Score(result["rd_loss"], result["bpp"], result["psnr"], result["mse"],
                                  result.get("score_s", 0.0))
                    objective_s[0] += score.seconds
                st.record(trial, score)
                self._completed_trials.add(trial_id)
                if score is not None:
                    bar.update(1)
                    bar.set_postfix(_best_postfix(st.study, st.targets))

        search = LayoutSearch(space=st.dists, metric=["gmacs", "rd_loss"], mode=["min", "min"],
                              sampler=st.sampler, study_name=STUDY_NAME, storage=st.storage)
        search._ot_study = st.study  # the same study object (and lock discipline) as optuna's backend
        per_trial = 1
        concurrent = max(1, int(ray.cluster_resources().get("CPU", cpus)) // per_trial)
        trainable = tune.with_resources(
            tune.with_parameters(_ray_trial, token=token, holder=holder, threads=per_trial),
            {"cpu": per_trial})
        tuner = tune.Tuner(
            trainable,
            tune_config=tune.TuneConfig(search_alg=search, num_samples=remaining,
                                        max_concurrent_trials=concurrent, reuse_actors=True),
            run_config=tune.RunConfig(name="outer", storage_path=str((st.out / "ray").resolve()),
                                      verbose=0, log_to_file=True))
        tuner.fit()
    finally:
        if started:
            ray.shutdown()
    return objective_s[0]
