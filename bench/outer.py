"""Outer-loop throughput: trials per minute with shared-weight scoring, Optuna's share of the trial
time, and the same search with ``backend=ray``.

    python bench/outer.py [space=fvc] [trials=24] [count=4] [crop=64] [cpus=2] [threads=1] [seed=0]

Quick settings: an untrained full-width codec (timing does not depend on the weights), ``count``
validation pairs of ``crop`` x ``crop`` from the default clips, one batched forward per trial. Each
backend runs in a fresh temporary folder. Optuna's share = time inside Optuna (sampler, SQLite
storage, the folder lock) over that plus the objective's time. The Ray figure includes starting the
local Ray instance (one CPU and one torch thread per trial, ``cpus`` trials at once). On a busy
2-core machine threads=2 oversubscribes the cores (scoring ~10x slower); keep threads=1 there.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from search.complexity import Complexity, load_or_measure  # noqa: E402
from search.config import OuterConfig  # noqa: E402
from search.outer import LayoutScorer, run_study, validation_pairs  # noqa: E402
from search.space import load_space  # noqa: E402


def main(argv: list[str]) -> None:
    args = dict(a.split("=", 1) for a in argv)
    space = load_space(args.get("space", "fvc"))
    trials, count = int(args.get("trials", 24)), int(args.get("count", 4))
    crop, cpus = int(args.get("crop", 64)), int(args.get("cpus", 2))
    threads, seed = int(args.get("threads", 1)), int(args.get("seed", 0))
    torch.set_num_threads(threads)
    complexity = Complexity(load_or_measure(space, (1920, 1080)), space)
    torch.manual_seed(seed)
    codec = space.codec().eval()
    frames = validation_pairs("default", count=count, crop=crop, seed=seed,
                              multiple=space.codec.MULTIPLE)
    scorer = LayoutScorer(codec, 1024.0, frames)
    low, high = complexity.range_gmacs()
    targets = [low + 0.6 * (high - low), low + 0.3 * (high - low)]
    scorer(space.full_layout())  # warm-up

    rates = {}
    for backend in ("optuna", "ray"):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            result = run_study(scorer, space, complexity, targets, Path(tmp),
                               OuterConfig(trials=trials, backend=backend, cpus=cpus), seed=seed,
                               progress=False)
            wall = time.perf_counter() - start
        rates[backend] = 60 * result.new_trials / wall
        t = result.timing
        print(f"{backend:>6}: {result.new_trials} trials in {wall:.1f} s = {rates[backend]:.1f} "
              f"trials/min", end="")
        if backend == "optuna":
            share = t["optuna_s"] / max(t["optuna_s"] + t["objective_s"], 1e-9)
            print(f"; Optuna (sampler + storage) {t['optuna_s']:.2f} s, objective "
                  f"{t['objective_s']:.2f} s: Optuna's share {100 * share:.1f}% "
                  f"({1000 * t['optuna_s'] / max(result.new_trials, 1):.0f} ms/trial)")
        else:
            print(f" (Ray start-up included; scoring {t['objective_s']:.2f} s summed over workers)")
    print(f" ratio: ray/optuna = {rates['ray'] / rates['optuna']:.2f}")
    print(f"space={space.name} layers={len(space.layers)} choices={len(space.groups)} "
          f"frames={count}x{crop}x{crop} threads={threads} cpus={cpus} "
          f"cpu_count={os.cpu_count()}")
    print("reproduce: python bench/outer.py " + " ".join(
        f"{k}={v}" for k, v in dict(space=space.name, trials=trials, count=count, crop=crop,
                                    cpus=cpus, threads=threads, seed=seed).items()))


if __name__ == "__main__":
    main(sys.argv[1:])
