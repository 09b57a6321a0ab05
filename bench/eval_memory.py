"""Evaluation at 1080p: frames per second and peak memory for a sequence of N and of 2N frames.

    python bench/eval_memory.py [--codec dvc] [--frames 3] [--threads 2] [--intra pristine|learned]

Writes a synthetic raw YUV 4:2:0 file of smooth moving content at 1920x1080 (``Smooth_1920x1080_50.yuv``,
2N frames) in a temporary folder, then evaluates the codec (untrained weights, the smallest layout of
its space, likelihood rates) on its first N and on all 2N frames, each in a fresh process, and prints
the frames per second and the process's peak resident memory. Frames are read from the file one at a
time, so the peak must not grow with the sequence's length. ``--intra learned`` codes the I-frame with
a small cheng2020-anchor trained for a few steps (its speed, not its quality, is what is timed).
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

WIDTH, HEIGHT = 1920, 1080


def write_yuv(path: Path, frames: int) -> None:
    """Smooth gradients drifting by two pixels a frame (8-bit 4:2:0)."""
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    with open(path, "wb") as f:
        for t in range(frames):
            luma = 128 + 60 * np.sin((xs + 2 * t) / 97) * np.cos((ys - t) / 61)
            chroma = 128 + 30 * np.sin((xs[::2, ::2] - 3 * t) / 83)
            for plane in (luma, chroma, 255 - chroma):
                f.write(np.clip(plane, 0, 255).astype(np.uint8).tobytes())


def run_one(args: argparse.Namespace) -> None:
    """In a fresh process: evaluate and print JSON figures."""
    import torch

    from search.config import EvalConfig
    from search.data import Clips, open_test_set
    from search.evaluation import Protocol, evaluate
    from search.intra import QuickIntra, train_quick_intra
    from search.space import load_space

    torch.set_num_threads(args.threads)
    space = load_space(args.codec)
    torch.manual_seed(0)
    model = space.codec(space.uniform_layout(max(space.group_sizes) - 1)).eval()
    intra = None
    if args.intra == "learned":
        intra = train_quick_intra(Clips("default"), 1024.0, 0, budget=QuickIntra(steps=2, batch=2),
                                  progress=False)
    protocol = Protocol.of(EvalConfig(gop_size=args.count, max_frames=args.count, bitstream=False))
    start = time.perf_counter()
    frames = evaluate(model, open_test_set(args.file), protocol, intra, progress=False)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"frames": args.count, "coded": len(frames), "seconds": seconds, "peak_mib": peak}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--codec", default="dvc")
    parser.add_argument("--frames", type=int, default=3, help="N: the short sequence's frames")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--intra", default="pristine", choices=("pristine", "learned"))
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.file:
        return run_one(args)
    print(f"evaluation of {args.codec} (smallest layout, likelihood rates, I-frames {args.intra}) on a "
          f"{WIDTH}x{HEIGHT} YUV file, torch threads {args.threads}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"Smooth_{WIDTH}x{HEIGHT}_50.yuv"
        write_yuv(path, 2 * args.frames)
        for count in (args.frames, 2 * args.frames):
            done = subprocess.run([sys.executable, __file__, "--codec", args.codec, "--threads",
                                   str(args.threads), "--intra", args.intra, "--file", str(path),
                                   "--count", str(count)], capture_output=True, text=True, check=True)
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"{count:3d} frames: {figures['coded']} coded in {figures['seconds']:.1f} s = "
                  f"{figures['coded'] / figures['seconds']:.3f} frames/s; peak memory "
                  f"{figures['peak_mib']:.0f} MiB", flush=True)
    print(f"reproduce: python bench/eval_memory.py --codec {args.codec} --frames {args.frames} "
          f"--threads {args.threads} --intra {args.intra}")


if __name__ == "__main__":
    main()
