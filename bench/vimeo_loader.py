"""DataLoader throughput and peak memory on Vimeo-90k-style septuplet sets of two sizes.

    python bench/vimeo_loader.py [--sizes 200,2000] [--frame 160x96] [--crop 64] [--batch 8]
                                 [--samples 2000] [--workers 2] [--clips]

Generates, into a temporary folder, septuplet sets (``sequences/<a>/<b>/im1..7.png`` and
``sep_trainlist.txt``) of smooth synthetic frames: moving gradients with a per-sequence offset, small
PNGs. For each set, a fresh process builds the training data as ``search.train`` does
(:func:`search.data.training_frames`, :class:`~search.data.TrainPairs` of reference/current pairs,
the step DataLoader with ``--workers`` workers) and draws ``--samples`` samples; it reports samples per
second and the peak resident memory (RSS) of the process and of its workers. Frames are read per
sample, so the memory must stay flat from the small set to the large one. ``--clips`` measures the
in-memory :class:`~search.data.Clips` path on the same sets for comparison (sequences cached as read).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def smooth_frame(seq: int, frame: int, height: int, width: int) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([(x * 2 + frame * 3 + seq * 11) % 256, (y * 2 + frame + seq * 5) % 256,
                     ((x + y) + seq * 3) % 256], -1).astype(np.uint8)


def write_set(root: Path, count: int, height: int, width: int) -> Path:
    """``count`` septuplets under ``root/sequences`` and their ``sep_trainlist.txt``."""
    from PIL import Image

    names = [f"{i // 1000 + 1:05d}/{i % 1000 + 1:04d}" for i in range(count)]
    for seq, name in enumerate(names):
        folder = root / "sequences" / name
        folder.mkdir(parents=True)
        for frame in range(7):
            Image.fromarray(smooth_frame(seq, frame, height, width)).save(folder / f"im{frame + 1}.png")
    (root / "sep_trainlist.txt").write_text("\n".join(names) + "\n")
    return root


def peak_rss_mib() -> tuple[float, float]:
    """Peak RSS (MiB) of this process and of its largest finished child (Linux reports KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def measure(root: str, kind: str, crop: int, batch: int, samples: int, workers: int) -> dict:
    """In this process: the loader of ``root`` drawn for ``samples`` samples (JSON on stdout)."""
    sys.path.insert(0, str(ROOT))
    import torch

    from search.data import Clips, StepSampler, TrainPairs, step_loader, training_frames

    torch.set_num_threads(1)
    started = time.perf_counter()
    frames = training_frames(root) if kind == "septuplets" else Clips(Path(root) / "sequences")
    steps = samples // batch
    pairs = TrainPairs(frames, crop, 2, samples_per_epoch=steps * batch, seed=0)
    setup = time.perf_counter() - started
    loader = step_loader(pairs, StepSampler(batch, steps), workers)
    started = time.perf_counter()
    drawn = sum(len(b) for b in loader)
    seconds = time.perf_counter() - started
    del loader  # workers exit: their peak RSS is then counted among the children
    time.sleep(0.5)
    own, children = peak_rss_mib()
    return {"kind": kind, "sequences": len(frames), "samples": drawn, "setup_s": setup,
            "samples_per_s": drawn / seconds, "rss_main_mib": own, "rss_worker_mib": children}


def run_measure(root: Path, kind: str, args) -> dict:
    done = subprocess.run([sys.executable, __file__, "--measure", str(root), "--kind", kind,
                           "--crop", str(args.crop), "--batch", str(args.batch), "--samples",
                           str(args.samples), "--workers", str(args.workers)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="200,2000")
    parser.add_argument("--frame", default="160x96", help="WIDTHxHEIGHT of the synthetic frames")
    parser.add_argument("--crop", type=int, default=64)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clips", action="store_true", help="also measure the in-memory Clips path")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--kind", default="septuplets", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.kind, args.crop, args.batch, args.samples,
                                 args.workers)))
        return
    width, height = (int(v) for v in args.frame.lower().split("x"))
    print(f"DataLoader over generated septuplet sets: {width}x{height} frames, crop {args.crop}, batch "
          f"{args.batch}, {args.samples} samples, {args.workers} workers, {os.cpu_count()} CPUs")
    print(f"{'data':11s} {'sequences':>9s} {'write s':>8s} {'setup s':>8s} {'samples/s':>10s} "
          f"{'RSS main MiB':>13s} {'RSS worker MiB':>15s}")
    kinds = ["septuplets", "clips"] if args.clips else ["septuplets"]
    with tempfile.TemporaryDirectory() as tmp:
        for count in (int(v) for v in args.sizes.split(",")):
            started = time.perf_counter()
            root = write_set(Path(tmp) / f"set{count}", count, height, width)
            written = time.perf_counter() - started
            for kind in kinds:
                r = run_measure(root, kind, args)
                print(f"{kind:11s} {r['sequences']:9d} {written:8.1f} {r['setup_s']:8.2f} "
                      f"{r['samples_per_s']:10.1f} {r['rss_main_mib']:13.1f} {r['rss_worker_mib']:15.1f}",
                      flush=True)
    print(f"reproduce: python bench/vimeo_loader.py --sizes {args.sizes} --frame {args.frame} --crop "
          f"{args.crop} --batch {args.batch} --samples {args.samples} --workers {args.workers}"
          + (" --clips" if args.clips else ""))


if __name__ == "__main__":
    main()
