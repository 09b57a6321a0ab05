"""``selector=gumbel``: cgSlimDecoder's mode selection, trained from the stage-1 weights."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import torch

from ...complexity import Cost
from ...config import Config, embedding_dims
from ...config.latency import objective_targets
from ...data import Clips, TrainPairs
from ...space import Space
from ...training import Runtime, codec_with_weights, frames_per_sample
from ..loop import run_stage2_loop
from ..protocol import Selector, no_check
from .embedding import ComplexityEmbedding
from .net import Supernet, tau_schedule
from .step import Stage2Step


def train_gumbel(space: Space, cost: Cost, stage1_weights: str, targets: list[float],
                 clips: Clips | Any, cfg: Config, out: Path, *, seed: int,
                 meta: Mapping[str, Any] | None = None, runtime: Runtime | None = None,
                 extend: bool = False) -> Supernet:
    """The supernet from the stage-1 weights of the full-width codec, trained (or resumed) in ``out``;
    once it has ended (``stage.json``) its weights are loaded and it is not trained again, unless
    ``extend``. Trains on the runtime's device; comes back on the CPU, where landing, evaluation and
    the outer search take it."""
    runtime = runtime or Runtime()
    training, gumbel = cfg.training, cfg.gumbel
    torch.manual_seed(seed)
    codec = codec_with_weights(space, space.full_layout(), stage1_weights)
    net = Supernet(space, cost, codec, targets, gumbel.hidden,
                   ComplexityEmbedding(targets, gumbel.embedding, gumbel.embedding_dims)).to(runtime.device)
    runtime.seed_process(seed)
    samples = TrainPairs(clips, training.crop, frames_per_sample(codec, 2),
                         samples_per_epoch=cfg.supernet.steps * training.batch, seed=seed + 1)
    step = Stage2Step(net, samples, training, cfg.supernet, gumbel, seed, runtime)
    meta = {"codec": space.codec_name, "space": space.name, "layout": space.full_layout(),
            "targets": targets, **(meta or {})}
    # "selector" is the checkpoint key of the mode-selection module in every stage-2 run folder
    run_stage2_loop(step, {"model": codec, "selector": net.mode_selection}, training, cfg.supernet, out,
                    desc=f"stage 2 {space.codec_name}", levels=len(targets), meta=meta, runtime=runtime,
                    extend=extend)
    return net.to("cpu")


def check_gumbel(cfg: Config) -> None:
    """The temperature schedule and the level embedding's dimensions for the configured targets."""
    tau_schedule(cfg.gumbel)
    embedding_dims(cfg.gumbel.embedding, cfg.gumbel.embedding_dims, len(objective_targets(cfg.supernet)[1]))


SELECTOR = Selector("gumbel", "cgSlimDecoder's mode selection (Gumbel-softmax under the complexity "
                              "penalty)", train_gumbel, check_gumbel, no_check, shares_weights=True)
