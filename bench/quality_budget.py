"""Quality per training budget: held-out P-frame PSNR and bpp after minutes of stage-1 training.

    python bench/quality_budget.py [--minutes 2,5,10,20 | --steps 50,100] [--gop 4] [--gops 2] [--threads 2] \
        [--out DIR] [-- space=fvc intra=hevc lr=... (any search.train key)]

One stage-1 run of the quick preset (``python -m search.train``, in process, the same code path) is
trained for the first budget, evaluated, then trained on (``extend=stage1`` with a fresh time limit)
up to the next budget, and so on: one curve, every point the same run. Each point is evaluated with
``python -m search.eval`` on the held-out tails of the bundled clips (``data=default``: frames training
never sees), GOPs of ``--gop`` frames (``--gops`` per clip), P-frame rates from the likelihoods, and
the I-frames of the run's I-frame coder (``intra=``; x265's HEVC intra by default).

Printed per budget: the training steps done, the wall and CPU seconds of training (the machine may be
shared: CPU seconds say how much work went in), the mean PSNR and bpp of the P-frames (and of the
I-frames), averaged over frames, then over the clips. Keys after ``--`` go to both commands where they
apply (``intra=``, ``seed=``; ``space=`` to both).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import resource
import shlex
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
import torch  # noqa: E402

from search.commands import eval as eval_cli  # noqa: E402
from search.commands import train as train_cli  # noqa: E402
from search.training.stages import read_stage  # noqa: E402

#: keys that search.eval takes as well as search.train
SHARED = ("space", "intra", "intra_quality", "intra_model", "seed", "threads", "layout")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def quiet(fn, args: list[str]) -> int:
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        return fn(args)


def train(keys: list[str], out: Path, seconds: float, extend: bool, steps: int = 1_000_000
          ) -> tuple[int, float, float]:
    """(steps done in all, wall seconds, CPU seconds) of training ``seconds`` more (0: up to
    ``steps``)."""
    args = [*keys, "preset=quick", f"steps={steps}", f"time_limit={seconds:g}",
            "checkpoint_every=1000000", f"out={out}", *(["extend=stage1"] if extend else [])]
    wall, cpu = time.perf_counter(), cpu_seconds()
    quiet(train_cli.main, args)
    return read_stage(out).steps, time.perf_counter() - wall, cpu_seconds() - cpu


def evaluate(keys: list[str], out: Path, gop: int, gops: int) -> dict[str, float]:
    """Mean P- and I-frame figures on the held-out tails (per clip, then over clips)."""
    checkpoint = sorted((out / "checkpoints").glob("step_*.pt"))[-1]
    csv = out / f"eval-{checkpoint.stem}.csv"
    shared = [k for k in keys if k.split("=")[0] in SHARED]
    quiet(eval_cli.main, [*shared, "preset=quick", f"checkpoint={checkpoint}", "data=default",
                          f"gop_size={gop}", f"max_gops={gops}", "bitstream=false", f"out={csv}"])
    frames = pd.read_csv(csv)
    per_clip = frames.groupby(["type", "sequence"])[["psnr", "bpp"]].mean().groupby("type").mean()
    return {"p_psnr": per_clip.loc["P", "psnr"], "p_bpp": per_clip.loc["P", "bpp"],
            "i_psnr": per_clip.loc["I", "psnr"], "i_bpp": per_clip.loc["I", "bpp"],
            "intra": frames["intra"].iloc[0]}


def main() -> None:
    argv = sys.argv[1:]
    keys = argv[argv.index("--") + 1:] if "--" in argv else []
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", default="2,5,10,20", help="cumulative training budgets")
    parser.add_argument("--steps", default="", help="cumulative budgets in steps instead of minutes "
                        "(the same work whatever else the machine runs)")
    parser.add_argument("--gop", type=int, default=4)
    parser.add_argument("--gops", type=int, default=2, help="GOPs per held-out clip")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="", help="keep the run here (default: a temporary folder)")
    args = parser.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    keys = [k for k in keys if not k.startswith("threads=")] + [f"threads={args.threads}"]
    if not any(k.startswith("space=") for k in keys):
        keys.insert(0, "space=fvc")
    by_steps = bool(args.steps)
    budgets = [float(m) for m in (args.steps or args.minutes).split(",")]
    print(f"python bench/quality_budget.py {' '.join(shlex.quote(a) for a in argv)}")
    print(f"quick preset, keys {' '.join(keys)}; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, "
          f"torch {torch.__version__}; held-out tails of the bundled clips, GOP {args.gop} x {args.gops}")
    print(f"{'budget':>7s} {'steps':>6s} {'wall s':>7s} {'CPU s':>7s} {'P PSNR':>7s} {'P bpp':>7s} "
          f"{'I PSNR':>7s} {'I bpp':>6s}  I-frames")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out) if args.out else Path(tmp) / "run"
        done, wall, cpu = 0.0, 0.0, 0.0
        for minutes in budgets:
            steps, w, c = train(keys, out, 0, done > 0, int(minutes)) if by_steps else \
                train(keys, out, 60 * (minutes - done), done > 0)
            done, wall, cpu = minutes, wall + w, cpu + c
            f = evaluate(keys, out, args.gop, args.gops)
            print(f"{minutes:7g} {steps:6d} {wall:7.0f} {cpu:7.0f} {f['p_psnr']:7.2f} {f['p_bpp']:7.4f} "
                  f"{f['i_psnr']:7.2f} {f['i_bpp']:6.3f}  {f['intra']}", flush=True)


if __name__ == "__main__":
    main()
