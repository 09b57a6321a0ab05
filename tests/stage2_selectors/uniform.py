"""A stage-2 selector written in tests/, registered at run time: each level's layout is the exact
landing closest to uniform slimming at its target (mask decay's target widths), and the shared
weights are trained at those layouts, one level per step (slimmable networks' training, Yu et al.,
ICLR 2019, without the sandwich rule). It keeps the selector contract of search.stage2.protocol and
is nothing else: no library file names it."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import torch

from search.codec import Codec
from search.config import Config
from search.data import TrainPairs
from search.nn.layers import load_sliced
from search.stage2 import LevelResult, run_stage2_loop, step_generator
from search.stage2.mask_decay import target_landing
from search.stage2.protocol import Selector, no_check
from search.training import (LOSS_TERMS, Runtime, StepBatches, codec_with_weights, coding_losses,
                             figures_of, frames_per_sample, optimizer_step)


class UniformNet:
    """The shared weights and each level's landing."""

    def __init__(self, space, codec: Codec, targets: list[float], landings: list):
        self.space, self.codec, self.targets, self.landings = space, codec, targets, landings

    def levels(self, tolerance: float, interpolate=()) -> list[LevelResult]:
        return [LevelResult(f"Level {i + 1}", t, [float(j == i) for j in range(len(self.targets))],
                            landing.value, landing, self.space.layout_of(landing.choice))
                for i, (t, landing) in enumerate(zip(self.targets, self.landings))]

    def level_codec(self, level: LevelResult | None) -> Codec:
        layout = self.space.full_layout() if level is None else level.layout
        return load_sliced(self.space.codec(layout), self.codec)

    def export_weights(self, index: int) -> None:
        return None

    def to(self, device) -> "UniformNet":
        self.codec.to(device)
        return self


class UniformStep:
    """A random level; the RD loss of the shared weights masked to its layout."""

    def __init__(self, net: UniformNet, samples: TrainPairs, cfg: Config, seed: int, runtime: Runtime):
        self.net, self.cfg, self.seed, self.runtime = net, cfg, seed, runtime
        self.layouts = [lvl.layout for lvl in net.levels(cfg.supernet.tolerance)]
        self.optimizer = torch.optim.Adam(net.codec.parameters(), lr=cfg.training.lr)
        self.scaler = runtime.grad_scaler()
        self.batches = StepBatches(samples, cfg.training.batch, runtime)

    def __call__(self, step: int) -> dict[str, float]:
        codec = self.net.codec.train()
        level = int(torch.randint(len(self.layouts), (1,), generator=step_generator(self.seed, step)))
        frames = self.batches(step)
        with self.batches.noise(step), codec.at_layout(self.layouts[level]):
            out = coding_losses(codec, frames, self.cfg.training.lmbda, "gt", self.runtime.autocast)
            optimizer_step(out["loss"], self.optimizer, self.scaler, codec.parameters())
        return {**figures_of(self.runtime.mean({k: out[k] for k in LOSS_TERMS})), "level": level + 1}


def train_uniform(space, complexity, stage1_weights: str, targets: list[float], clips: Any, cfg: Config,
                  out: Path, *, seed: int, meta: Mapping[str, Any] | None = None,
                  runtime: Runtime | None = None, extend: bool = False) -> UniformNet:
    runtime = runtime or Runtime()
    torch.manual_seed(seed)
    landings = [target_landing(space, complexity, t, cfg.supernet.tolerance) for t in targets]
    codec = codec_with_weights(space, space.full_layout(), stage1_weights).to(runtime.device)
    net = UniformNet(space, codec, targets, landings)
    samples = TrainPairs(clips, cfg.training.crop, frames_per_sample(codec, 2),
                         samples_per_epoch=cfg.supernet.steps * cfg.training.batch, seed=seed + 1)
    step = UniformStep(net, samples, cfg, seed, runtime)
    run_stage2_loop(step, {"model": codec}, cfg.training, cfg.supernet, out, desc="uniform",
                    levels=len(targets), meta={"targets": targets, **(meta or {})}, runtime=runtime,
                    extend=extend)
    return net.to("cpu")


SELECTOR = Selector("uniform", "test: uniform-slimming landings, the shared weights trained at them",
                    train_uniform, no_check, no_check, shares_weights=True)
