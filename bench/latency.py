"""Decode-time tables: how well they predict, and whether equal GMACs mean equal time.

    python bench/latency.py [--codecs fvc,dcvc,evc] [--resolution 448x256] [--threads 1]
                            [--repeats 5] [--layouts 20] [--rounds 5] [--candidates 20000]

Per codec: the latency table (``python -m search.latency``'s code path; the stored one under
profiles/ when it matches, its build seconds are then the stored ones), the full decoder's measured
ms, the calibration (alpha, beta) and the prediction error on the held-out random layouts, of the
plain per-module sum and of the calibrated prediction. Then, for f in 0.5 and 0.75, the uniform
decoder ``space.scaled_layout(f)`` against the non-uniform layout the table predicts fastest among
``--candidates`` random layouts of the option grid with GMACs within 2% below the uniform's (the
GMAC closed form at the same resolution; 5% where none is that close): both measured whole,
interleaved, ``--rounds`` times after a warm-up, the fastest of each kept. Prints the load average it
ran under: other processes slow both sides, not exactly alike.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search.complexity import Complexity, load_or_measure  # noqa: E402
from search.space import load_space  # noqa: E402
from search.timing import LatencyModel, LatencySettings, load_or_measure_latency  # noqa: E402
from search.timing.clock import DecoderRun  # noqa: E402
from search.timing.settings import torch_threads  # noqa: E402


def nonuniform_match(space, complexity: Complexity, model: LatencyModel, budget: float, count: int,
                     seed: int) -> tuple[dict, float]:
    """The grid layout of least predicted ms with GMACs in [0.98, 1] x budget (else [0.95, 1])."""
    choices = space.random_choices(count, np.random.default_rng(seed))
    gmacs = complexity.gmacs_of_choices(choices)
    predicted = model.of_choices(choices)
    for low in (0.98, 0.95, 0.0):
        inside = np.flatnonzero((gmacs <= budget) & (gmacs >= low * budget))
        if len(inside):
            best = inside[np.argmin(predicted[inside])]
            return space.layout_of(choices[best]), float(gmacs[best])
    raise SystemExit(f"{space.name}: no random layout at or below {budget:.3f} GMACs")


def fastest_interleaved(space, layouts: list[dict], resolution, settings: LatencySettings,
                        rounds: int) -> list[float]:
    """Each layout's fastest whole-decode ms over ``rounds`` interleaved runs after warm-up."""
    with torch_threads(settings.threads):
        runs = [DecoderRun(space, layout, resolution, settings) for layout in layouts]
        for run in runs:
            run.warm_up()
        best = [float("inf")] * len(runs)
        for _ in range(rounds):
            for i, run in enumerate(runs):
                best[i] = min(best[i], run.timed_ms())
    return best


def bench(codec: str, args: argparse.Namespace) -> None:
    space = load_space(codec)
    width, height = (int(v) for v in args.resolution.split("x"))
    settings = LatencySettings(threads=args.threads, repeats=args.repeats, layouts=args.layouts)
    table = load_or_measure_latency(space, (width, height), settings)
    model = LatencyModel(table, space)
    complexity = Complexity(load_or_measure(space, (width, height)), space)
    e = table.errors
    print(f"{codec}: table built in {table.seconds:.1f} s ({len(table.design)} design + "
          f"{len(table.heldout)} held-out layouts); full decoder {table.full_ms:.1f} ms "
          f"({complexity.gmacs(space.full_layout()):.3f} GMACs), smallest {table.smallest_ms:.1f} ms")
    print(f"  calibration alpha {table.alpha:.4f}, beta {table.beta:.2f} ms; error on "
          f"{len(table.heldout)} held-out layouts: plain sum mean {100 * e['plain_mean']:.1f}% max "
          f"{100 * e['plain_max']:.1f}%, calibrated mean {100 * e['calibrated_mean']:.1f}% max "
          f"{100 * e['calibrated_max']:.1f}%")
    for factor in (0.5, 0.75):
        uniform = space.scaled_layout(factor)
        budget = complexity.gmacs(uniform)
        other, other_gmacs = nonuniform_match(space, complexity, model, budget, args.candidates, args.seed)
        measured = fastest_interleaved(space, [uniform, other], (width, height), settings, args.rounds)
        print(f"  f={factor}: uniform {budget:.3f} GMACs predicted {model.of_layout(uniform):.1f} ms "
              f"measured {measured[0]:.1f} ms | non-uniform {other_gmacs:.3f} GMACs predicted "
              f"{model.of_layout(other):.1f} ms measured {measured[1]:.1f} ms "
              f"({100 * (measured[1] - measured[0]) / measured[0]:+.1f}%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--codecs", default="fvc,dcvc,evc")
    parser.add_argument("--resolution", default="448x256")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--layouts", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--candidates", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"$ python bench/latency.py --codecs {args.codecs} --resolution {args.resolution} "
          f"--threads {args.threads} --repeats {args.repeats} --layouts {args.layouts} "
          f"--rounds {args.rounds} --candidates {args.candidates} --seed {args.seed}")
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())} ({os.cpu_count()} CPUs)")
    for codec in args.codecs.split(","):
        bench(codec, args)
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
