"""``selector=mask_decay``: EVC's mask decay (Wang et al., ICLR 2023, section 3.2 and Appendix B) as a
second way to find each level's widths in stage 2.

Per GMAC target, exact landing (:mod:`search.stage2.landing`) fixes each searchable layer's target
width. Each level has one mask set (:mod:`.masks`), initialised to 1, in a student that starts as the
stage-1 teacher (the full-width codec). A step draws a level, runs the student under that level's
masks and minimises the RD loss plus a distillation term (:mod:`.step`); the masks of the channels of
lowest importance decay, then every layer is pruned to its target width (:mod:`.decay`); the rest of
the steps fine-tune. Each level's codec is the merged, pruned student (:mod:`.net`).

A space allows it when every module that carries a searchable width is a convolution (which holds a
mask), or a plain GDN (its parameters follow any kept channels); SlimCAE's and SlimVC's switchable GDNs
keep one parameter set per width for its leading channels, and FVC's deformable convolution keeps
whole deformable groups of its leading input channels: those spaces are refused, naming the module.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from ...codec import Codec
from ...complexity import Cost
from ...config import Config
from ...data import Clips, TrainPairs
from ...errors import BadInput
from ...space import Space
from ...training import Runtime, codec_with_weights, frames_per_sample
from ..landing import Landing, land
from ..loop import run_stage2_loop
from ..protocol import Selector
from .masks import ChannelMasks, teacher_norms, unsupported
from .net import MaskDecayNet
from .step import MaskDecayStep


def check_settings(cfg: Config) -> None:
    """The ``mask_decay`` section's values (one line naming the key)."""
    settings = cfg.mask_decay
    if settings.rate is not None and not 0 < settings.rate < 1:
        raise BadInput(f"mask_decay_rate={settings.rate:g}: must be in (0, 1)")
    if not 0 < settings.fraction <= 1:
        raise BadInput(f"mask_decay_fraction={settings.fraction:g}: must be in (0, 1]")
    if settings.distill < 0:
        raise BadInput(f"mask_decay_distill={settings.distill:g}: must be >= 0")


def check_space(cfg: Config, space: Space, interpolate: Sequence[float] = ()) -> None:
    """Mask decay on ``space``: one line saying why not, before any training."""
    reason = unsupported(space)
    if reason:
        raise BadInput(f"selector=mask_decay: space {space.name!r} cannot use mask decay: {reason} "
                       f"(use selector=gumbel)")
    if interpolate:
        raise BadInput("interpolate= with selector=mask_decay: mask decay trains one mask set per "
                       "target, with nothing to interpolate; give every target in target_gmacs")


def uniform_factor(space: Space, cost: Cost, target: float) -> float:
    """The width factor ``f`` whose uniform slimming (:meth:`Space.scaled_layout`) lands at ``target``
    (bisection; GMACs grow with ``f``, and so, closely, does decode time)."""
    low, high = 0.0, 1.0
    for _ in range(40):
        middle = (low + high) / 2
        if cost.of_layout(space.scaled_layout(middle)) <= target:
            low = middle
        else:
            high = middle
    return low


def target_landing(space: Space, cost: Cost, target: float, tolerance: float) -> Landing:
    """The exact landing on ``target`` whose options are closest to uniform slimming at that target
    (score ``-|option / full - f|``): mask decay has no mode selection to score options with."""
    f = uniform_factor(space, cost, target)
    scores = [np.array([-abs(o / space.layers[g[0]].full - f) for o in space.layers[g[0]].options])
              for g in space.groups]
    return land(cost, scores, target, tolerance)


def frozen(codec: Codec) -> Codec:
    for p in codec.parameters():
        p.requires_grad_(False)
    return codec.eval()


def train_mask_decay(space: Space, cost: Cost, stage1_weights: str, targets: list[float],
                     clips: Clips | Any, cfg: Config, out: Path, *, seed: int,
                     meta: Mapping[str, Any] | None = None, runtime: Runtime | None = None,
                     extend: bool = False) -> MaskDecayNet:
    """Mask decay from the stage-1 teacher to each target's landed layout, trained (or resumed) in
    ``out``; once it has ended (``stage.json``) it is loaded, not trained again, unless ``extend``.
    Comes back on the CPU."""
    runtime = runtime or Runtime()
    check_settings(cfg)
    check_space(cfg, space)
    training, stage2 = cfg.training, cfg.supernet
    torch.manual_seed(seed)
    landings = [target_landing(space, cost, t, stage2.tolerance) for t in targets]
    widths = [[space.layout_of(lnd.choice)[g[0]] for g in space.groups] for lnd in landings]
    teacher = frozen(codec_with_weights(space, space.full_layout(), stage1_weights))
    student = codec_with_weights(space, space.full_layout(), stage1_weights)
    masks = ChannelMasks(space, widths)
    teacher_norms(teacher, masks)
    for module in (teacher, student, masks):
        module.to(runtime.device)
    runtime.seed_process(seed)
    samples = TrainPairs(clips, training.crop, frames_per_sample(student, 2),
                         samples_per_epoch=stage2.steps * training.batch, seed=seed + 1)
    step = MaskDecayStep(student, teacher, masks, samples, training, cfg.mask_decay, stage2.steps, seed,
                         runtime)
    meta = {"codec": space.codec_name, "space": space.name, "layout": space.full_layout(),
            "targets": targets, "selector": "mask_decay", **(meta or {})}
    try:
        run_stage2_loop(step, {"model": student, "masks": masks}, training, stage2, out,
                        desc=f"mask decay {space.codec_name}", levels=len(targets), meta=meta,
                        runtime=runtime, extend=extend)
    finally:
        step.hooks.remove()
    if not bool(masks.pruned):  # the decay took every step (mask_decay_fraction=1) or time ran out
        step.decay.prune()
    return MaskDecayNet(space, cost, student, teacher, masks, targets, landings).to("cpu")


SELECTOR = Selector("mask_decay", "EVC's mask decay from the stage-1 teacher to each level's landed "
                                  "layout", train_mask_decay, check_settings, check_space,
                    shares_weights=False)
