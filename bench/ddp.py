"""One process against two (torchrun, DistributedDataParallel over gloo on the CPU), same global batch.

    python bench/ddp.py [--space dcvc] [--crop 64] [--batch 4] [--steps 6] [--threads 1]

Runs ``python -m search.train`` (stage 1) three ways on the same data and seed: one process with
``--threads`` threads, one process with twice as many, and ``torchrun --nproc_per_node=2`` with
``--threads`` threads per process (each process takes half of each step's batch). The per-step times
of ``log.csv`` after the first step (which includes start-up work) give the seconds per step; the wall
time of each command is printed too. The weights after the last step are compared (they must agree to
float rounding).
"""
from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent


def train(out: Path, args, threads: int, processes: int) -> float:
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                f"--nproc_per_node={processes}"] if processes > 1 else [sys.executable]
    keys = [f"space={args.space}", f"crop={args.crop}", f"batch={args.batch}", f"steps={args.steps}",
            f"threads={threads}", "seed=0", "time_limit=0", f"checkpoint_every={args.steps}", f"out={out}"]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    subprocess.run([*launcher, "-m", "search.train", *keys], cwd=ROOT, env=env, check=True,
                   capture_output=True, text=True)
    return time.perf_counter() - started


def seconds_per_step(out: Path) -> float:
    with (out / "log.csv").open() as f:
        rows = [float(r["seconds"]) for r in csv.DictReader(f)]
    return sum(rows[1:]) / max(len(rows) - 1, 1)


def largest_difference(a: Path, b: Path, step: int) -> float:
    name = f"step_{step:08d}.pt"
    wa = torch.load(a / "checkpoints" / name, weights_only=False)["modules"]["model"]
    wb = torch.load(b / "checkpoints" / name, weights_only=False)["modules"]["model"]
    return max(float((wa[k] - wb[k]).abs().max()) for k in wa if wa[k].is_floating_point())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--space", default="dcvc")
    parser.add_argument("--crop", type=int, default=64)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    print(f"stage 1, {args.space}, crop {args.crop}, global batch {args.batch}, {args.steps} steps "
          f"(the first untimed), {os.cpu_count()} CPUs, torch {torch.__version__}")
    print(f"{'run':34s} {'s/step':>7s} {'steps/s':>8s} {'wall s':>7s}")
    ways = [("1 process", args.threads, 1), ("1 process", 2 * args.threads, 1),
            ("2 processes (torchrun, gloo)", args.threads, 2)]
    with tempfile.TemporaryDirectory() as tmp:
        outs = []
        for i, (label, threads, processes) in enumerate(ways):
            out = Path(tmp) / f"run{i}"
            wall = train(out, args, threads, processes)
            per_step = seconds_per_step(out)
            outs.append(out)
            print(f"{f'{label} x {threads} thread(s)':34s} {per_step:7.3f} {1 / per_step:8.3f} {wall:7.1f}",
                  flush=True)
        print(f"largest weight difference, 2 processes vs 1: {largest_difference(outs[0], outs[2], args.steps):.2e}")
    print(f"reproduce: python bench/ddp.py --space {args.space} --crop {args.crop} --batch {args.batch} "
          f"--steps {args.steps} --threads {args.threads}")


if __name__ == "__main__":
    main()
