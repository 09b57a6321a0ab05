"""The outer search on Ray Tune: the same objective as Ray Tune function trials.

A subclass of Ray's ``OptunaSearch`` is given the same storage, study name and sampler, so the trials
land in the same ``study.db`` (Tune's own files go to ``<out>/ray``). The driver does the duplicate
check in ``suggest`` and records GMACs, constraint and user attributes in ``on_trial_complete``;
workers only score. The scorer is put into Ray's object store once and cached per worker process
(module-level cache keyed by a token), not shipped per trial. Ray's own logging stays at warning
level unless ``verbose``.
"""
from __future__ import annotations

import logging
import os
import sys
import uuid

import torch
from tqdm import tqdm

from ..config import OuterConfig
from ..errors import BadInput
from ..paths import ROOT
from .results import best_postfix
from .scorer import LayoutScorer, Score
from .study import STUDY_NAME, Study, layout_of_params

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


def _start_ray(cfg: OuterConfig, verbose: bool) -> bool:
    """Join ``cfg.ray_address`` or start a local instance of ``cfg.cpus`` CPUs; False if running."""
    import ray

    if ray.is_initialized():
        return False
    level = logging.INFO if verbose else logging.WARNING
    common = {"include_dashboard": False, "log_to_driver": verbose, "logging_level": level}
    try:
        if cfg.ray_address:
            ray.init(address=cfg.ray_address, runtime_env={"py_modules": [str(ROOT / "search")]},
                     **common)
        else:
            path = [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
            ray.init(num_cpus=cfg.cpus, runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join(path)}},
                     **common)
    except (ConnectionError, RuntimeError, ValueError) as err:
        raise BadInput(f"ray_address={cfg.ray_address or ''!r}: cannot start or reach Ray "
                       f"({str(err).splitlines()[0] if str(err) else type(err).__name__})") from None
    return True


def _searcher(study: Study, trials: int, bar: tqdm, objective_s: list[float]):
    """An ``OptunaSearch`` on our study: the duplicate check in ``suggest`` (under the folder's lock),
    GMACs, constraint and per-target attributes recorded in ``on_trial_complete``."""
    from ray.tune.search import Searcher
    from ray.tune.search.optuna import OptunaSearch

    class LayoutSearch(OptunaSearch):
        def suggest(self, trial_id: str):
            if trial_id not in self._ot_trials:
                trial = study.ask(trials)
                if trial is None:
                    return Searcher.FINISHED
                self._ot_trials[trial_id] = trial
            trial = self._ot_trials[trial_id]
            layout = layout_of_params(study.space, trial.params)
            return {"layout": layout, "gmacs": study.complexity.gmacs(layout), "number": trial.number}

        def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False):
            if trial_id in self._completed_trials or trial_id not in self._ot_trials:
                return
            score = None
            if result and not error and "rd_loss" in result:
                score = Score(result["rd_loss"], result["bpp"], result["psnr"], result["mse"],
                              result.get("score_s", 0.0))
                objective_s[0] += score.seconds
            study.record(self._ot_trials[trial_id], score)
            self._completed_trials.add(trial_id)
            if score is not None:
                bar.update(1)
                bar.set_postfix(best_postfix(study.study, study.targets))

    search = LayoutSearch(space=study.dists, metric=["gmacs", "rd_loss"], mode=["min", "min"],
                          sampler=study.sampler, study_name=STUDY_NAME, storage=study.storage)
    search._ot_study = study.study  # the same study object (and lock discipline) as optuna's backend
    return search


def run_ray(study: Study, scorer: LayoutScorer, cfg: OuterConfig, bar: tqdm, verbose: bool = False
            ) -> float:
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
        per_trial = 1
        trainable = tune.with_resources(
            tune.with_parameters(_ray_trial, token=uuid.uuid4().hex, holder=[ray.put(scorer)],
                                 threads=per_trial), {"cpu": per_trial})
        concurrent = max(1, int(ray.cluster_resources().get("CPU", cfg.cpus)) // per_trial)
        if not verbose:  # Tune's newer console output ignores verbose=0; its classic output does not
            os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
        tune.Tuner(trainable,
                   tune_config=tune.TuneConfig(search_alg=_searcher(study, cfg.trials, bar, objective_s),
                                               num_samples=remaining, max_concurrent_trials=concurrent,
                                               reuse_actors=True),
                   run_config=tune.RunConfig(name="outer", storage_path=str((study.out / "ray").resolve()),
                                             verbose=0, log_to_file=True)).fit()
    finally:
        if started:
            ray.shutdown()
    return objective_s[0]
