"""Evaluation speed: P-frames per second at 640x272 (the bikes clip) for each codec, at the full layout
and at the smallest layout of its space (every searchable layer at its last option), and their ratio.

    python bench/eval_speed.py [--codecs dvc,fvc,dcvc,slimvc] [--frames 3] [--threads 2] [--bitstream]

What is timed is :func:`search.evaluation.evaluate` (the code path of ``python -m search.eval``) over one GOP
of ``--frames`` frames of bikes.mp4: the first is the reference and is not coded (``intra=pristine``:
this times the P-frame codec), so ``frames - 1`` P-frames are coded (padded to the codec's multiple, 640x320 for the 64-multiple codecs, 672x288 for
SlimVC). Untrained weights: speed does not depend on the weights. One untimed warm-up P-frame first.

By default bpp comes from the likelihoods (``bitstream=false``: forward pass only). ``--bitstream``
times real compress + decompress through CompressAI's coders; DCVC's autoregressive context model
decodes its latents position by position, which makes its real bitstreams far slower than its forward
pass.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from search.config import EvalConfig  # noqa: E402
from search.data import default_clips, open_test_set, pad_to_multiple  # noqa: E402
from search.entropy import update_all  # noqa: E402
from search.evaluation import Protocol, code_p_frame, evaluate  # noqa: E402
from search.space import load_space  # noqa: E402

CODECS = ("dvc", "fvc", "dcvc", "slimvc")


def bikes() -> Path:
    return next(p for p in default_clips() if p.name == "bikes.mp4")


def frames_per_second(codec: str, which: str, frames: int, bitstream: bool) -> tuple[float, int]:
    space = load_space(codec)
    layout = space.full_layout() if which == "full" else \
        space.uniform_layout(max(space.group_sizes, default=1) - 1)
    torch.manual_seed(0)
    model = space.codec(layout).eval()
    sequences = open_test_set(str(bikes()))
    protocol = Protocol.of(EvalConfig(gop_size=frames, max_gops=1, bitstream=bitstream))
    if bitstream:
        update_all(model, force=True)
    first = next(sequences[0].frames()).rgb
    padded, _ = pad_to_multiple(first, model.MULTIPLE)
    code_p_frame(model, padded, padded, bitstream)  # warm-up
    start = time.perf_counter()
    table = evaluate(model, sequences, protocol, None, progress=False)
    seconds = time.perf_counter() - start
    return len(table) / seconds, len(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--codecs", default=",".join(CODECS))
    parser.add_argument("--frames", type=int, default=3, help="frames read (the first is not coded)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--bitstream", action="store_true", help="real bitstreams (slow for DCVC)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    mode = "real bitstreams" if args.bitstream else "likelihoods (bitstream=false)"
    print(f"evaluation P-frames/s at 640x272 (bikes.mp4, {args.frames - 1} P-frames after the reference), "
          f"bpp from {mode}, torch threads {args.threads}, {os.cpu_count()} CPUs, torch {torch.__version__}")
    print(f"{'codec':8s} {'full fps':>10s} {'smallest fps':>13s} {'speed-up':>9s}")
    for codec in args.codecs.split(","):
        full, n = frames_per_second(codec, "full", args.frames, args.bitstream)
        small, _ = frames_per_second(codec, "smallest", args.frames, args.bitstream)
        print(f"{codec:8s} {full:10.3f} {small:13.3f} {small / full:8.2f}x", flush=True)
    flags = f" --frames {args.frames} --threads {args.threads}" + (" --bitstream" if args.bitstream else "")
    print(f"reproduce: python bench/eval_speed.py --codecs {args.codecs}{flags}")
    if args.bitstream and "dcvc" in args.codecs:
        print("note: DCVC's autoregressive context model decodes latents one position at a time: its real "
              "bitstream figures are dominated by that serial decoding")


if __name__ == "__main__":
    main()
