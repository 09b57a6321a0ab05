"""Decoders chosen under a time target against decoders chosen under GMACs, at the same time.

    python bench/latency_targets.py space=fvc resolution=448x256 objective=latency \
        target_ms=[1000,700,450] latency_threads=1 out=RUN [rounds=5]

RUN is the folder of a finished ``python -m search.run ... objective=latency`` with the same keys
(nothing is trained again: the finished supernet is loaded). Per time target, three decoders from the
same shared weights and the same mode-selection scores (the level's), so that only the constraint
differs:

* **time**: the level landed on the ms target with the decode-time table (what the run's stage 2 did);
* **GMACs**: the level landed on the GMAC target whose landing the table predicts at the ms target
  (the highest GMAC target, by bisection, whose landed decoder is predicted at or below it): what a
  GMAC search would pick for a user who converted their time budget to GMACs with the same table;
* **uniform**: one width factor for every searchable layer, the largest whose predicted time fits
  (off the option grid: never trained in the supernet, so its shared-weights RD loss is a floor on
  how bad it is, not a fair figure; the main job's verdict fine-tunes both sides for that).

Each is measured whole (``rounds`` interleaved runs after warm-up, the fastest kept, on the run's
``latency_threads``) and scored with the shared weights on the decision validation batches (RD loss
and its standard error over the batches). Printed: GMACs, predicted and measured ms, the measured
distance from the target, RD loss. Run it on a quiet machine: other processes move every time.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from latency import fastest_interleaved  # noqa: E402  (bench/latency.py)
from search.commands.run import COMMAND  # noqa: E402
from search.outer import uniform_at  # noqa: E402
from search.pipeline.job import build_job, configure  # noqa: E402
from search.pipeline.main_job import default_out, validation_scorer  # noqa: E402
from search.pipeline.supernet_job import supernet_stages  # noqa: E402
from search.stage2 import land  # noqa: E402


def gmac_target_at(complexity, latency, scores, target_ms: float, tolerance: float, start: float,
                   steps: int = 8) -> tuple[float, list[int]]:
    """The highest GMAC target whose landing the table predicts at or below ``target_ms``: bisection in
    a bracket around ``start`` (the GMACs of the time-landed decoder), widened until it brackets, then
    ``steps`` halvings (each an exact landing, a MILP on FVC's grid): 8 give 0.3% of ``start``."""
    def predicted(gmacs: float) -> tuple[float, list[int]]:
        choice = land(complexity, scores, gmacs, tolerance).choice
        return float(latency.of_choices(np.array([choice]))[0]), choice

    floor, ceiling = complexity.range()
    low, high = max(floor, 0.8 * start), min(ceiling, 1.2 * start)
    ms, choice = predicted(low)
    while ms > target_ms and low > floor:  # widen downwards until the low end fits
        low = max(floor, low - 0.2 * start)
        ms, choice = predicted(low)
    if ms > target_ms:
        raise SystemExit(f"no GMAC landing is predicted at or below {target_ms:g} ms")
    best = (low, choice)
    while high < ceiling:  # widen upwards until the high end does not fit
        ms, choice = predicted(high)
        if ms > target_ms:
            break
        low, best, high = high, (high, choice), min(ceiling, high + 0.2 * start)
    for _ in range(steps):
        middle = (low + high) / 2
        ms, choice = predicted(middle)
        if ms <= target_ms:
            low, best = middle, (middle, choice)
        else:
            high = middle
    return best


def main(argv: list[str]) -> None:
    rounds = int(next((a.split("=", 1)[1] for a in argv if a.startswith("rounds=")), 5))
    args = [a for a in argv if not a.startswith("rounds=")]
    run = configure(COMMAND, args, main_job=True)
    if run.cfg.supernet.objective != "latency":
        raise SystemExit("give the keys of an objective=latency run (objective=latency target_ms=[...])")
    job = build_job(run.cfg, run.space, default_out(run.cfg.preset, run.cfg.seed, run.cfg.lambdas, "latency"))
    net = supernet_stages(job, job.out / "supernet")
    codec = net.codec.eval()
    scorer = validation_scorer(job, codec, "decide")
    tolerance = job.cfg.supernet.tolerance
    print(f"python bench/latency_targets.py {' '.join(argv)}")
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())} ({os.cpu_count()} CPUs); "
          f"run {job.out}")
    print(f"{'target ms':>9} {'decoder':<8} {'GMACs':>8} {'pred. ms':>9} {'meas. ms':>9} {'dist':>7} "
          f"{'RD loss':>8} {'s.e.':>7}")
    for index, target in enumerate(job.targets):
        scores = net.mode_selection.scores(net.vector(index))
        by_time = land(job.cost, scores, target, tolerance).choice
        gmac_target, by_gmacs = gmac_target_at(job.complexity, job.cost, scores, target, tolerance,
                                               job.complexity.gmacs(job.space.layout_of(by_time)))
        uniform = uniform_at(job.space, job.cost, target)
        layouts = {"time": job.space.layout_of(by_time), "GMACs": job.space.layout_of(by_gmacs)}
        if uniform is not None:
            layouts["uniform"] = uniform.layout
        measured = fastest_interleaved(job.space, list(layouts.values()), job.profile.resolution,
                                       job.timing, rounds)
        for (name, layout), ms in zip(layouts.items(), measured):
            score = scorer(layout)
            print(f"{target:>9g} {name:<8} {job.complexity.gmacs(layout):>8.3f} "
                  f"{job.cost.of_layout(layout):>9.1f} {ms:>9.1f} {100 * (ms - target) / target:>6.1f}% "
                  f"{score.rd_loss:>8.4f} {score.noise:>7.4f}")
        print(f"{'':>9} (GMAC target of the same predicted time: {gmac_target:.3f} GMACs"
              + (f"; uniform x{uniform.factor:.3f}{' on the grid' if uniform.on_grid else ', off the grid'}"
                 if uniform is not None else "") + ")")
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main(sys.argv[1:])
