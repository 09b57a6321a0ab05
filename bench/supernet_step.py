"""Time of one stage-2 (supernet) step over one stage-1 step, on the same batch.

    python bench/supernet_step.py [space=fvc] [crop=64] [batch=4] [steps=10]

Stage 1: forward, RD loss, backward, Adam step of the full-width codec. Stage 2: the same plus level
sampling, the mode-selection module, Gumbel-softmax, channel masks and the complexity penalty (one
full-width forward whatever is sampled). Steps alternate so both see the same machine load.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from search.complexity import Complexity, load_or_measure  # noqa: E402
from search.data import Clips, TrainPairs  # noqa: E402
from search.space import load_space  # noqa: E402
from search.stage2 import Supernet, TauSchedule, step_generator  # noqa: E402
from search.training import p_frame_losses  # noqa: E402


def main(argv: list[str]) -> None:
    args = dict(a.split("=", 1) for a in argv)
    space = load_space(args.get("space", "fvc"))
    crop, batch, steps = int(args.get("crop", 64)), int(args.get("batch", 4)), int(args.get("steps", 10))
    complexity = Complexity(load_or_measure(space, (1920, 1080)), space)
    low, high = complexity.range_gmacs()
    targets = [low + f * (high - low) for f in (0.75, 0.5, 0.25)]
    torch.manual_seed(0)
    codec = space.codec()
    net = Supernet(space, complexity, codec, targets)
    frames = torch.stack([TrainPairs(Clips("default"), crop, 2, seed=0)[i] for i in range(batch)])
    opt1 = torch.optim.Adam(codec.parameters(), lr=1e-4)
    opt2 = torch.optim.Adam(list(codec.parameters()) + list(net.mode_selection.parameters()), lr=1e-4)
    schedule = TauSchedule(steps=steps)

    def stage1() -> None:
        loss = p_frame_losses(codec, frames, 1024.0, "gt")["loss"]
        opt1.zero_grad()
        loss.backward()
        opt1.step()

    def stage2(step: int) -> None:
        generator = step_generator(0, step)
        level = int(torch.randint(len(targets), (1,), generator=generator))
        _, gmacs = net.sample_and_mask(level, schedule(step), generator)
        loss = p_frame_losses(codec, frames, 1024.0, "gt")["loss"]
        loss = loss + net.penalty(gmacs, targets[level], 0.001, -0.001).float()
        opt2.zero_grad()
        loss.backward()
        opt2.step()
        codec.set_choices(None)

    codec.train()
    stage1(), stage2(0)  # warm-up
    t1 = t2 = 0.0
    for step in range(steps):
        start = time.perf_counter()
        stage1()
        t1 += time.perf_counter() - start
        start = time.perf_counter()
        stage2(step + 1)
        t2 += time.perf_counter() - start
    print(f"space={space.name} crop={crop} batch={batch} steps={steps} threads={torch.get_num_threads()}")
    print(f"stage 1: {1000 * t1 / steps:.1f} ms/step   stage 2: {1000 * t2 / steps:.1f} ms/step")
    print(f"stage 2 / stage 1: {t2 / t1:.3f}  (target <= 1.3)")


if __name__ == "__main__":
    main(sys.argv[1:])
