"""Stage-1 training speed: steps per second at ``preset=quick`` for each codec on this machine.

    python bench/train_speed.py [--codecs dvc,fvc,dcvc,slimvc] [--warmup 2] [--steps 10] [--threads 2]

Each codec runs ``python -m search.train space=<codec> preset=quick`` (in-process, the same code
path) for ``warmup + steps`` steps on the default clips, into a temporary folder; the per-step times of
its ``log.csv`` (which leave out checkpoint writing) give the steps per second over the last ``steps``
steps. The loss curve of those steps is printed too (it falls at the quick preset; the test
``tests/test_train.py`` asserts it).
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from search.commands import train as train_cli  # noqa: E402
from search.config import Config, resolve  # noqa: E402
from search.space import load_space  # noqa: E402

CODECS = ("dvc", "fvc", "dcvc", "slimvc")


def run(codec: str, steps: int, threads: int, folder: Path) -> list[dict[str, float]]:
    out = folder / codec
    args = [f"space={codec}", "preset=quick", f"steps={steps}", f"threads={threads}", "time_limit=0",
            f"checkpoint_every={steps}", f"out={out}"]
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        train_cli.main(args)
    with (out / "log.csv").open() as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--codecs", default=",".join(CODECS))
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10, help="timed steps")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    print(f"stage-1 training at preset=quick, {args.steps} timed steps after {args.warmup} warm-up, "
          f"torch threads {args.threads}, {os.cpu_count()} CPUs, torch {torch.__version__}")
    print(f"{'codec':8s} {'crop':>5s} {'batch':>5s} {'steps/s':>8s} {'s/step':>7s}  loss over the steps")
    with tempfile.TemporaryDirectory() as tmp:
        for codec in args.codecs.split(","):
            log = run(codec, args.warmup + args.steps, args.threads, Path(tmp))
            timed = log[args.warmup:]
            seconds = sum(r["seconds"] for r in timed)
            space = load_space(codec)
            cfg = resolve(Config(space=codec, preset="quick"), space.codec, space.codec_name).training
            curve = " ".join(f"{r['loss']:.1f}" for r in log)
            print(f"{codec:8s} {cfg.crop:5d} {cfg.batch:5d} {len(timed) / seconds:8.3f} "
                  f"{seconds / len(timed):7.2f}  {curve}", flush=True)
    print(f"reproduce: python bench/train_speed.py --codecs {args.codecs} --warmup {args.warmup} "
          f"--steps {args.steps} --threads {args.threads}")


if __name__ == "__main__":
    main()
