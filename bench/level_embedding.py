"""Held-out targets between the supernet's levels: one-hot complexity vectors against ELF-VC's level
embedding with fewer dimensions than levels.

    python bench/level_embedding.py [space=dvc] [levels=8] [dims=3] [stage1_steps=40] [steps=300]
                                    [batch=4] [crop=64] [seed=0] [threads=2] [out=folder]

One short stage 1 at the quick preset (crop 64), then stage 2 twice from those weights with the same
seed, data, steps and every other setting: ``embedding=onehot`` (one dimension per level) and
``embedding=elfvc embedding_dims=<dims>`` (ELF-VC, Appendix E). The ``levels`` targets are spread evenly
over 90%..10% of the space's GMAC range; the held-out targets are the midpoints between neighbouring
ones, served by the interpolated complexity vector (no training at those points). For each, the
printed error is that of the layout the mode selection picks (the argmax of its logits) *before*
exact landing: ``(GMACs - target) / target``. Landing would then move both onto their targets; this
measures how well the vector alone steers the widths between levels. Trained levels are printed too.
"""
from __future__ import annotations

import dataclasses
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from search.complexity import Complexity, load_or_measure  # noqa: E402
from search.config import Config, resolve  # noqa: E402
from search.data import Clips  # noqa: E402
from search.space import load_space  # noqa: E402
from search.stage2 import Supernet, train_gumbel  # noqa: E402
from search.training import stage1_checkpoint  # noqa: E402

DEFAULTS = {"space": "dvc", "levels": "8", "dims": "3", "stage1_steps": "40", "steps": "300",
            "batch": "4", "crop": "64", "seed": "0", "threads": "2", "out": ""}


def settings(argv: list[str]) -> dict[str, str]:
    args = dict(DEFAULTS)
    for word in argv:
        key, _, value = word.partition("=")
        if key not in DEFAULTS or not value:
            raise SystemExit(f"unknown or empty key {word!r}; keys: {', '.join(DEFAULTS)}")
        args[key] = value
    return args


def targets_of(complexity: Complexity, levels: int) -> tuple[list[float], list[float]]:
    """``levels`` targets over 90%..10% of the range, and the midpoints between neighbours."""
    low, high = complexity.range_gmacs()
    targets = [round(low + f * (high - low), 3) for f in np.linspace(0.9, 0.1, levels)]
    return targets, [round((a + b) / 2, 3) for a, b in zip(targets, targets[1:])]


def configs(args: dict[str, str], space) -> Config:
    cfg = Config(space=space.name, preset="quick", seed=int(args["seed"]))
    cfg.training.crop, cfg.training.batch = int(args["crop"]), int(args["batch"])
    cfg.stage1.steps, cfg.stage1.time_limit = int(args["stage1_steps"]), 0
    cfg.supernet.steps, cfg.supernet.time_limit = int(args["steps"]), 0
    return resolve(cfg, space.codec, space.codec_name)


def argmax_gmacs(net: Supernet, vector: torch.Tensor) -> float:
    choice = net.mode_selection.argmax(vector)
    return float(net.cost.of_choices(np.array([choice]))[0])


def train(space, complexity, weights, targets, clips, cfg, folder, seed, kind, dims):
    gumbel = dataclasses.replace(cfg.gumbel, embedding=kind, embedding_dims=dims)
    cfg = dataclasses.replace(cfg, gumbel=gumbel, supernet=dataclasses.replace(cfg.supernet, target_gmacs=targets))
    start = time.perf_counter()
    net = train_gumbel(space, complexity, weights, targets, clips, cfg, folder, seed=seed)
    return net, time.perf_counter() - start


def report(nets: dict[str, Supernet], targets: list[float], held_out: list[float]) -> None:
    names = list(nets)
    print(f"{'target':>10} {'kind':>9}  " + "  ".join(f"{n + ' GMACs':>18} {'error':>8}" for n in names))
    errors = {n: [] for n in names}
    rows = [(t, "level", lambda net, i=i: net.vector(i)) for i, t in enumerate(targets)]
    rows += [(t, "held-out", lambda net, t=t: net.interpolated_vector(t)) for t in held_out]
    for target, kind, vector_of in sorted(rows, key=lambda r: -r[0]):
        cells = []
        for name, net in nets.items():
            gmacs = argmax_gmacs(net, vector_of(net))
            error = (gmacs - target) / target
            if kind == "held-out":
                errors[name].append(abs(error))
            cells.append(f"{gmacs:>18.3f} {100 * error:>7.2f}%")
        print(f"{target:>10.3f} {kind:>9}  " + "  ".join(cells))
    print("mean |error| over the held-out targets: "
          + ", ".join(f"{n} {100 * np.mean(errors[n]):.2f}%" for n in names))
    print("max |error| over the held-out targets:  "
          + ", ".join(f"{n} {100 * np.max(errors[n]):.2f}%" for n in names))


def main(argv: list[str]) -> None:
    args = settings(argv)
    torch.set_num_threads(int(args["threads"]))
    seed, levels, dims = int(args["seed"]), int(args["levels"]), int(args["dims"])
    space = load_space(args["space"])
    complexity = Complexity(load_or_measure(space, (1920, 1080)), space)
    targets, held_out = targets_of(complexity, levels)
    cfg = configs(args, space)
    training, stage1, supernet = cfg.training, cfg.stage1, cfg.supernet
    clips = Clips("default")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args["out"] or tmp)
        weights = stage1_checkpoint(space, clips, training, stage1, root / "stage1", seed=seed)
        nets, seconds = {}, {}
        for name, kind, d in ((f"onehot({levels})", "onehot", 0), (f"elfvc({dims})", "elfvc", dims)):
            nets[name], seconds[name] = train(space, complexity, weights, targets, clips, cfg,
                                              root / kind, seed, kind, d)
    print(f"\nspace={space.name} levels={levels} stage1_steps={stage1.steps} stage-2 steps="
          f"{supernet.steps} crop={training.crop} batch={training.batch} seed={seed} "
          f"threads={torch.get_num_threads()}; stage 2 took "
          + ", ".join(f"{n} {s:.0f} s" for n, s in seconds.items()))
    print("GMACs at 1920x1080 of the argmax layout (before exact landing); error = (GMACs - target) / "
          "target")
    report(nets, targets, held_out)
    print("command: python bench/level_embedding.py " + " ".join(
        shlex.quote(f"{k}={v}") for k, v in args.items() if v))


if __name__ == "__main__":
    main(sys.argv[1:])
