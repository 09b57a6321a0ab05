"""The outer search on Ray Tune: the same study, its trials run as Ray Tune function trials.

A :class:`StudySearcher` (Ray Tune's public ``Searcher`` interface) asks our Optuna study for each new
trial (the same duplicate check, bands and sampler as the in-process loop, under the folder's lock),
keeps its heartbeat while Ray runs it, and tells the study the result, with the node that scored it.
The scorer reaches the trials through ``tune.with_parameters`` (Ray's object store); each trial asks
Ray for ``{"cpu": cpus_per_trial, "gpu": gpus_per_trial}`` (fractions allowed) and runs on the GPU Ray
gives it, if any. A trial whose worker dies is run again by Ray (``FailureConfig``); if the driver
dies, the finished trials stay in the study and the stale ones are failed by their heartbeat and
queued again when the same command resumes. Tune's own files go to ``<out>/ray``; Ray's logging stays
at warning level unless ``verbose``.
"""
from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys

import torch
from tqdm import tqdm

from ..config import OuterConfig
from ..errors import BadInput
from ..paths import ROOT
from .results import best_postfix
from .scorer import LayoutScorer, Score
from .study import Study, layout_of_params


def _ray_trial(config: dict, scorer: LayoutScorer, threads: int) -> dict:
    """One Ray Tune trial: score ``config["layout"]`` on the device Ray assigned."""
    import ray

    torch.set_num_threads(max(1, threads))
    if ray.get_gpu_ids() and torch.cuda.is_available():
        scorer = scorer.to("cuda")
    score = scorer(config["layout"])
    return {"rd_loss": score.rd_loss, "bpp": score.bpp, "psnr": score.psnr, "mse": score.mse,
            "score_s": score.seconds, "batch_losses": list(score.batch_losses),
            "node": ray.get_runtime_context().get_node_id()}


def _init_kwargs(cfg: OuterConfig, verbose: bool) -> dict:
    level = logging.INFO if verbose else logging.WARNING
    common = {"include_dashboard": False, "log_to_driver": verbose, "logging_level": level}
    if cfg.ray_address:
        return {"address": cfg.ray_address, "runtime_env": {"py_modules": [str(ROOT / "search")]},
                **common}
    path = [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return {"num_cpus": cfg.cpus, "runtime_env": {"env_vars": {"PYTHONPATH": os.pathsep.join(path)}},
            **common}


def _reachable(address: str, timeout: float = 5.0) -> str:
    """Why ``host:port`` (or ``ray://host:port``) does not answer, or an empty string (Ray itself
    retries an unreachable address for minutes)."""
    if address == "auto":
        return ""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as err:
        return err.strerror or type(err).__name__
    return ""


def _start_ray(cfg: OuterConfig, verbose: bool) -> bool:
    """Join ``cfg.ray_address`` or start a local instance; False if Ray was running already."""
    import ray

    if ray.is_initialized():
        return False
    unreachable = _reachable(cfg.ray_address) if cfg.ray_address else ""
    if unreachable:
        raise BadInput(f"ray_address={cfg.ray_address!r}: nothing answers there ({unreachable}); start "
                       f"the cluster with `ray start --head` or give its address")
    try:
        ray.init(**_init_kwargs(cfg, verbose))
    except (ConnectionError, RuntimeError, ValueError) as err:
        raise BadInput(f"ray_address={cfg.ray_address or ''!r}: cannot start or reach Ray "
                       f"({str(err).splitlines()[0] if str(err) else type(err).__name__})") from None
    return True


def check_ray(cfg: OuterConfig, verbose: bool = False) -> dict[str, float]:
    """Reach the cluster (or start the local instance) before any training, and check that it holds
    what one trial asks for; its resources."""
    import ray

    started = _start_ray(cfg, verbose)
    try:
        resources = ray.cluster_resources()
    finally:
        if started:
            ray.shutdown()
    where = f"the Ray cluster at {cfg.ray_address}" if cfg.ray_address else "the local Ray instance"
    for name, asked in (("CPU", cfg.cpus_per_trial), ("GPU", cfg.gpus_per_trial)):
        if asked and resources.get(name, 0) < asked:
            raise BadInput(f"{name.lower()}s_per_trial={asked:g}: {where} has {resources.get(name, 0):g} "
                           f"{name}(s)")
    return resources


def make_searcher(study: Study, trials: int, bar: tqdm | None, objective_s: list[float]):
    """A Ray Tune ``Searcher`` over our study (its public interface: ``suggest``,
    ``on_trial_complete``); the class is made here because Ray is imported only when it is used."""
    from ray.tune.search import Searcher

    class StudySearcher(Searcher):
        def __init__(self):
            super().__init__(metric="rd_loss", mode="min")
            self.running: dict[str, tuple] = {}

        def suggest(self, trial_id: str):
            trial = study.ask(trials)
            if trial is None:
                return None if self.running else Searcher.FINISHED
            beats = contextlib.ExitStack()
            beats.enter_context(study.heartbeat(trial))
            self.running[trial_id] = (trial, beats)
            layout = layout_of_params(study.space, trial.params)
            return {"layout": layout, "number": trial.number}

        def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False):
            if trial_id not in self.running:
                return
            trial, beats = self.running.pop(trial_id)
            beats.close()
            score = None
            if result and not error and "rd_loss" in result:
                score = Score(result["rd_loss"], result["bpp"], result["psnr"], result["mse"],
                              result.get("score_s", 0.0), tuple(result.get("batch_losses", ())))
                objective_s[0] += score.seconds
            study.record(trial, score, {"node": result.get("node", "")} if result else {})
            if score is not None and bar is not None:
                bar.update(1)
                bar.set_postfix(best_postfix(study.study, study.targets))

    return StudySearcher()


def _concurrency(resources: dict[str, float], cfg: OuterConfig) -> int:
    slots = resources.get("CPU", cfg.cpus) / cfg.cpus_per_trial
    if cfg.gpus_per_trial:
        slots = min(slots, resources.get("GPU", 0) / cfg.gpus_per_trial)
    return max(1, int(slots))


def run_ray(study: Study, scorer: LayoutScorer, cfg: OuterConfig, bar: tqdm | None,
            verbose: bool = False) -> float:
    """Finish ``cfg.trials`` trials on Ray Tune; the seconds the workers spent scoring."""
    import ray
    from ray import cloudpickle, tune

    remaining = cfg.trials - study.busy()
    if remaining <= 0:
        return 0.0
    started = _start_ray(cfg, verbose)
    # codec classes live in modules loaded by path (search.codec.load_codec): pickle them by value
    module = sys.modules.get(type(scorer.codec).__module__)
    if module is not None and module.__name__.startswith("_search_codecs"):
        cloudpickle.register_pickle_by_value(module)
    objective_s = [0.0]
    try:
        trainable = tune.with_resources(
            tune.with_parameters(_ray_trial, scorer=scorer, threads=max(1, int(cfg.cpus_per_trial))),
            {"cpu": cfg.cpus_per_trial, "gpu": cfg.gpus_per_trial})
        if not verbose:  # Tune's newer console output ignores verbose=0; its classic output does not
            os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
        tune.Tuner(trainable,
                   tune_config=tune.TuneConfig(search_alg=make_searcher(study, cfg.trials, bar, objective_s),
                                               num_samples=remaining,
                                               max_concurrent_trials=_concurrency(ray.cluster_resources(), cfg)),
                   run_config=tune.RunConfig(name="outer", storage_path=str((study.out / "ray").resolve()),
                                             verbose=0, log_to_file=True,
                                             failure_config=tune.FailureConfig(max_failures=2))).fit()
    finally:
        if started:
            ray.shutdown()
    return objective_s[0]
