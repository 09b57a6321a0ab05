"""Training step time and frames per second per device and precision, and the framework's overhead.

    python bench/devices.py [--codecs dcvc] [--crop 64] [--batch 4] [--steps 3] [--warmup 1]
                            [--precisions fp32,bf16] [--threads 2] [--devices cpu,cuda]

For each device present (the CPU, and the GPU when torch sees one), each codec and each precision:

* **stage 1**: our :class:`~search.training.Stage1Step` (DataLoader batch, per-sample noise,
  autocast, loss module, backward, clipping, Adam, figures);
* **bare**: a plain PyTorch step on the same model and the same batch already on the device
  (autocast forward, RD loss, backward, Adam step): what our step costs over it is the framework's
  overhead, reported as the ratio ours / bare, the two alternating in one run so that both see the
  same machine load;
* **stage 2**: our :class:`~search.stage2.Stage2Step` (level, Gumbel-softmax, channel masks, the
  complexity penalty).

Frames per second are P-frames trained per second (batch x (GOP - 1) per step). The frames are smooth
synthetic content held in memory; the timed steps follow ``--warmup`` untimed ones.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search.complexity import Complexity, load_or_measure  # noqa: E402
from search.config import Config, SupernetConfig, TrainingConfig, resolve  # noqa: E402
from search.config.schema import GumbelConfig  # noqa: E402
from search.data import Clips, TrainPairs  # noqa: E402
from search.space import load_space  # noqa: E402
from search.stage2 import Stage2Step, Supernet  # noqa: E402
from search.training import Runtime, Stage1Step, p_frame_losses  # noqa: E402


def synthetic_clips(crop: int, frames: int = 8) -> Clips:
    """Smooth moving content a little larger than the crop (random crops have room to move)."""
    height, width = max(128, crop + 64), max(192, crop + 128)
    y, x = np.mgrid[0:height, 0:width]
    video = np.stack([np.stack([(x * 2 + t * 3) % 256, (y * 2 + t) % 256, (x + y + t * 5) % 256], -1)
                      for t in range(frames)]).astype(np.uint8)
    return Clips.from_arrays({"smooth": video})


def training_config(codec: str, crop: int, batch: int) -> TrainingConfig:
    space = load_space(codec)
    cfg = resolve(Config(space=codec, preset="quick"), space.codec, space.codec_name)
    cfg.training.crop, cfg.training.batch = crop, batch
    return cfg.training


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start


def stage1_against_bare(codec: str, runtime: Runtime, training: TrainingConfig, steps: int,
                        warmup: int) -> tuple[float, float]:
    """Seconds per step of our stage-1 step and of a bare PyTorch step, alternating."""
    space = load_space(codec)
    torch.manual_seed(0)
    model = space.codec().to(runtime.device).train()
    samples = TrainPairs(synthetic_clips(training.crop), training.crop, 2,
                         samples_per_epoch=(steps + warmup + 1) * training.batch, seed=0)
    ours = Stage1Step(model, samples, training, runtime)
    frames = ours.batches(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=training.lr)

    def bare() -> None:
        loss = p_frame_losses(model, frames, training.lmbda, "gt", runtime.autocast)["loss"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for step in range(warmup):
        ours(step + 1), bare()
    t_ours = t_bare = 0.0
    for step in range(steps):
        t_ours += timed(ours, warmup + 1 + step)
        t_bare += timed(bare)
    ours.batches.close()
    return t_ours / steps, t_bare / steps


def stage2(codec: str, runtime: Runtime, training: TrainingConfig, steps: int, warmup: int) -> float:
    space = load_space(codec)
    complexity = Complexity(load_or_measure(space, (1920, 1080)), space)
    low, high = complexity.range_gmacs()
    targets = [low + f * (high - low) for f in (0.75, 0.5, 0.25)]
    torch.manual_seed(0)
    net = Supernet(space, complexity, space.codec(), targets).to(runtime.device)
    cfg = SupernetConfig(target_gmacs=targets, steps=steps + warmup)
    samples = TrainPairs(synthetic_clips(training.crop), training.crop, 2, samples_per_epoch=(steps + warmup)
                         * training.batch, seed=1)
    step = Stage2Step(net, samples, training, cfg, GumbelConfig(), seed=0, runtime=runtime)
    for i in range(warmup):
        step(i)
    seconds = sum(timed(step, warmup + i) for i in range(steps)) / steps
    step.batches.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--codecs", default="dcvc")
    parser.add_argument("--crop", type=int, default=64)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--devices", default="cpu,cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    gpu = f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ", no GPU"
    print(f"training steps: crop {args.crop}, batch {args.batch}, {args.steps} timed steps after "
          f"{args.warmup} warm-up; torch {torch.__version__}, {args.threads} threads of {os.cpu_count()} "
          f"CPUs{gpu}")
    print(f"{'device':7s} {'codec':7s} {'prec':5s} {'stage1 s':>9s} {'frames/s':>9s} {'bare s':>8s} "
          f"{'ours/bare':>9s} {'stage2 s':>9s} {'frames/s':>9s}")
    for device in args.devices.split(","):
        for codec in args.codecs.split(","):
            training = training_config(codec, args.crop, args.batch)
            for precision in args.precisions.split(","):
                runtime = Runtime(torch.device(device), precision)
                ours, bare = stage1_against_bare(codec, runtime, training, args.steps, args.warmup)
                s2 = stage2(codec, runtime, training, args.steps, args.warmup)
                print(f"{device:7s} {codec:7s} {precision:5s} {ours:9.3f} {args.batch / ours:9.2f} "
                      f"{bare:8.3f} {ours / bare:9.3f} {s2:9.3f} {args.batch / s2:9.2f}", flush=True)
    print(f"reproduce: python bench/devices.py --codecs {args.codecs} --crop {args.crop} --batch "
          f"{args.batch} --steps {args.steps} --warmup {args.warmup} --precisions {args.precisions} "
          f"--threads {args.threads} --devices {args.devices}")


if __name__ == "__main__":
    main()
