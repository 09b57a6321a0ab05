"""EVC's mask decay (Wang et al., ICLR 2023, section 3.2 and Appendix B) as a second way to find each
level's widths in stage 2 (``selector=mask_decay``; the default ``gumbel`` is cgSlimDecoder's mode
selection).

Per GMAC target, exact landing (:mod:`search.supernet.landing`) fixes each searchable layer's target
width. Each level has one mask set: a per-output-channel scale ``m`` on every convolution of a searchable
layer (tied layers share one), initialised to 1, in a student that starts as the stage-1 teacher (the
full-width codec). A step draws a level, runs the student under that level's masks and minimises the
RD loss plus a distillation term ``lambda * MSE(x_hat, x_hat_teacher)``. Before each step of the
first ``mask_decay_fraction`` of the steps, in every level, the channels of lowest importance (beyond
the target width) are decayed as weight decay, decoupled from the loss (Eq. 1-3)::

    dL_sparse/dm = |m - 1|                                   (1)
    m <- m - eta |m - 1|    (then - gamma dL_RD/dm by Adam)   (3)

(``eta`` is ``mask_decay_rate``; a channel's importance is its mask times the norm of its filters in
the teacher). Then each layer keeps exactly its target width, the channels of highest importance; the
others' masks are set to 0 for good, and the rest of the steps fine-tune.

Merging (Claim 1): a mask on a convolution's output channels folds into that convolution's weight and
bias, and zeroed channels stay zero through the activations, GDNs and residual additions that follow,
so the codec built at the level's layout, holding the kept channels of the merged weights
(:func:`search.nn.layers.load_sliced` with ``keep``), gives the masked student's output.

A space allows it when every module that carries a searchable width is a convolution (which holds a
mask), or a plain GDN (its parameters follow any kept channels); SlimCAE's and SlimVC's switchable GDNs
keep one parameter set per width for its leading channels, and FVC's deformable convolution keeps
whole deformable groups of its leading input channels: those spaces are refused, naming the module.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..codec import Codec
from ..complexity import Complexity
from ..config import SupernetConfig, TrainingConfig
from ..data import Clips, TrainPairs
from ..errors import BadInput
from ..nn.layers import (SlimConv2d, SlimConvTranspose2d, SlimDeformConv2d, SlimDepthwiseConv2d, SlimGDN,
                         SlimMaskedConv2d, SubPixelConv2d, load_sliced, slim_modules)
from ..nn.widths import segments
from ..space import Space
from ..training import (LOSS_TERMS, Runtime, StepBatches, codec_with_weights,
                        codec_inputs, figures_of, frames_per_sample, optimizer_step, rd_loss)
from .landing import Landing, land
from .stage2 import LevelResult, run_stage2_loop, step_generator

#: modules that hold a mask on their output channels (their weight's output dimension, then the bias)
CONVS = (SlimConv2d, SlimMaskedConv2d, SlimConvTranspose2d, SubPixelConv2d, SlimDepthwiseConv2d,
         SlimDeformConv2d)
#: modules through which zeroed channels stay zero and whose parameters follow any kept channels
PASS_ZEROS = (SlimGDN,)


# -- which spaces ------------------------------------------------------------------------------------


def unsupported(space: Space) -> str | None:
    """Why mask decay cannot run on ``space`` (None: it can)."""
    searchable = set(space.searchable)
    for group in space.groups:
        fulls = {space.layers[k].full for k in group}
        if len(fulls) > 1:
            return f"the tie {list(group)} joins layers of different full widths {sorted(fulls)}"
    for name, module in slim_modules(space.codec(None)):
        widths = list(segments(module.in_w)) + [module.out_w]
        keys = sorted({k for w in widths for k, _ in w.terms if k in searchable})
        if not keys:
            continue
        if not isinstance(module, CONVS + PASS_ZEROS):
            return (f"layer {keys[0]} is followed by {name} ({type(module).__name__}), whose parameters "
                    f"belong to widths, not channels: its masks cannot merge into kept channels")
        for w in widths:
            if any(k in searchable for k, _ in w.terms) and (len(w.terms) != 1 or w.const):
                return f"{name} has a width {w.terms} (+{w.const}) of several layers: masks cannot merge"
        if isinstance(module, SlimDeformConv2d) and any(k in searchable for k, _ in module.in_w.terms):
            return (f"layer {module.in_w.terms[0][0]} feeds the deformable convolution {name}, which "
                    f"keeps whole deformable groups of its leading input channels, not chosen ones")
    return None


def check_mask_decay(supernet: SupernetConfig, space: Space, interpolate: Sequence[float] = ()) -> None:
    """``selector=mask_decay`` on ``space``: one line saying why not, before any training."""
    if supernet.selector != "mask_decay":
        return
    reason = unsupported(space)
    if reason:
        raise BadInput(f"selector=mask_decay: space {space.name!r} cannot use mask decay: {reason} "
                       f"(use selector=gumbel)")
    if interpolate:
        raise BadInput("interpolate= with selector=mask_decay: mask decay trains one mask set per "
                       "target, with nothing to interpolate; give every target in target_gmacs")


# -- the target widths ---------------------------------------------------------------------------------


def uniform_factor(space: Space, complexity: Complexity, target: float) -> float:
    """The width factor ``f`` whose uniform slimming (:meth:`Space.scaled_layout`) lands at ``target``
    GMACs (bisection; GMACs grow with ``f``)."""
    low, high = 0.0, 1.0
    for _ in range(40):
        middle = (low + high) / 2
        if complexity.gmacs(space.scaled_layout(middle)) <= target:
            low = middle
        else:
            high = middle
    return low


def target_landing(space: Space, complexity: Complexity, target: float, tolerance: float) -> Landing:
    """The exact landing on ``target`` whose options are closest to uniform slimming at that target
    (score ``-|option / full - f|``): mask decay has no mode selection to score options with."""
    f = uniform_factor(space, complexity, target)
    scores = [np.array([-abs(o / space.layers[g[0]].full - f) for o in space.layers[g[0]].options])
              for g in space.groups]
    return land(complexity, scores, target, tolerance)


# -- the masks -----------------------------------------------------------------------------------------


class ChannelMasks(nn.Module):
    """One mask set per level: per group (tie) of searchable layers, a scale per full-width channel.

    ``values[g]`` is ``[levels, full]``; ``alive{g}`` zeroes pruned channels for good; ``norm{g}`` is
    each channel's filter norm in the teacher (its importance besides the mask); ``widths[l][g]`` the
    level's target width."""

    def __init__(self, space: Space, widths: list[list[int]]):
        super().__init__()
        self.groups = [tuple(g) for g in space.groups]
        self.group_of = {k: g for g, keys in enumerate(self.groups) for k in keys}
        self.widths = [list(w) for w in widths]
        fulls = [space.layers[g[0]].full for g in self.groups]
        self.values = nn.ParameterList([nn.Parameter(torch.ones(len(widths), f)) for f in fulls])
        for g, f in enumerate(fulls):
            self.register_buffer(f"alive{g}", torch.ones(len(widths), f))
            self.register_buffer(f"norm{g}", torch.ones(f))
        self.register_buffer("pruned", torch.zeros((), dtype=torch.bool))

    @property
    def levels(self) -> int:
        return len(self.widths)

    def alive(self, g: int) -> torch.Tensor:
        return getattr(self, f"alive{g}")

    def norm(self, g: int) -> torch.Tensor:
        return getattr(self, f"norm{g}")

    def mask(self, level: int, key: str) -> torch.Tensor:
        """Layer ``key``'s channel scales at ``level`` (pruned channels exactly 0)."""
        g = self.group_of[key]
        return self.values[g][level] * self.alive(g)[level]

    @torch.no_grad()
    def importance(self, level: int, g: int) -> torch.Tensor:
        return self.mask(level, self.groups[g][0]).abs() * self.norm(g)

    @torch.no_grad()
    def kept(self, level: int) -> dict[str, torch.Tensor]:
        """Per searchable layer key, its kept channels at ``level`` (sorted; its target width many)."""
        out = {}
        for g, keys in enumerate(self.groups):
            order = torch.argsort(self.importance(level, g), descending=True, stable=True)
            index = torch.sort(order[:self.widths[level][g]].cpu()).values
            out.update({k: index for k in keys})
        return out


class MaskHooks:
    """The masks applied: a forward hook on every convolution of a searchable layer scales its output
    channels by the current level's mask (an interleaved ``mult * width`` output repeats each scale)."""

    def __init__(self, codec: Codec, masks: ChannelMasks):
        self.masks, self.level = masks, None
        self.handles = []
        for _, module in slim_modules(codec):
            found = conv_mask_index(module)
            if found is not None and found[0] in masks.group_of:
                self.handles.append(module.register_forward_hook(self._hook(*found)))

    def _hook(self, key: str, mult: int):
        def scale(module, inputs, output):
            if self.level is None:
                return output
            m = expand_scale(self.masks.mask(self.level, key).to(output.dtype), mult)
            return output * m.view(1, -1, 1, 1)
        return scale

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles = []


def conv_mask_index(module: nn.Module) -> tuple[str, int] | None:
    """(layer key, mult) of a convolution's output when it is one searchable-layer width."""
    terms = module.out_w.terms
    if not isinstance(module, CONVS) or len(terms) != 1 or module.out_w.const:
        return None
    return terms[0]


@torch.no_grad()
def fold_masks(codec: Codec, masks: ChannelMasks, level: int) -> Codec:
    """Claim 1: each convolution's mask multiplied into its weight (output dimension) and bias, in
    place; the codec then runs without masks as it ran with them."""
    for _, module in slim_modules(codec):
        found = conv_mask_index(module)
        if found is None or found[0] not in masks.group_of:
            continue
        key, mult = found
        m = expand_scale(masks.mask(level, key), mult)
        conv, dim = _weight_of(module)
        if isinstance(module, SubPixelConv2d):  # conv channel c * r^2 + i -> output channel c
            m = m.repeat_interleave(module.upscale ** 2)
        shape = [1] * conv.weight.dim()
        shape[dim] = -1
        conv.weight.mul_(m.to(conv.weight).view(shape))
        if getattr(conv, "bias", None) is not None:
            conv.bias.mul_(m.to(conv.bias))
    return codec


def expand_scale(m: torch.Tensor, mult: int) -> torch.Tensor:
    return m.repeat_interleave(mult) if mult > 1 else m


def _weight_of(module: nn.Module) -> tuple[nn.Module, int]:
    """The module holding the weight and the weight's output-channel dimension."""
    if isinstance(module, SubPixelConv2d):
        return module[0], 0
    if isinstance(module, SlimConvTranspose2d):
        return module, 1
    return module, 0


def teacher_norms(codec: Codec, masks: ChannelMasks) -> None:
    """Each channel's filter norm in the teacher, averaged over the group's convolutions (each scaled
    to mean 1): the importance that breaks the ties of masks still at 1."""
    sums = [torch.zeros_like(masks.norm(g)) for g in range(len(masks.groups))]
    with torch.no_grad():
        for _, module in slim_modules(codec):
            found = conv_mask_index(module)
            if found is None or found[0] not in masks.group_of:
                continue
            key, mult = found
            conv, dim = _weight_of(module)
            w = conv.weight.detach().transpose(0, dim).flatten(1).norm(dim=1)
            channels = w.numel() // (mult * (module.upscale ** 2 if isinstance(module, SubPixelConv2d)
                                             else 1))
            per_channel = w.view(channels, -1).norm(dim=1)
            sums[masks.group_of[key]] += per_channel / per_channel.mean().clamp_min(1e-12)
        for g, total in enumerate(sums):
            masks.norm(g).copy_(total / total.mean() if total.sum() > 0 else torch.ones_like(total))


# -- the decay -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecaySchedule:
    """Eq. 3's decay at ``rate`` per step for the first ``decay_steps`` steps, then the prune."""

    rate: float
    decay_steps: int

    @classmethod
    def of(cls, cfg: SupernetConfig) -> "DecaySchedule":
        return cls(float(cfg.mask_decay_rate), max(1, math.ceil(cfg.mask_decay_fraction * cfg.steps)))


class MaskDecay:
    """Before step ``step``: decay (Eq. 3) the lowest-importance channels of every level, or, at the
    end of the decay, prune every layer to exactly its target width."""

    def __init__(self, masks: ChannelMasks, schedule: DecaySchedule):
        self.masks, self.schedule = masks, schedule

    @torch.no_grad()
    def __call__(self, step: int) -> None:
        masks = self.masks
        if bool(masks.pruned):
            return
        if step >= self.schedule.decay_steps:
            self.prune()
            return
        for g, values in enumerate(masks.values):
            values.clamp_(min=0)  # Eq. 1 holds for m >= 0
            for level in range(masks.levels):
                surplus = values.shape[1] - masks.widths[level][g]
                if surplus <= 0:
                    continue
                order = torch.argsort(masks.importance(level, g), stable=True)[:surplus]
                m = values[level, order]
                values[level, order] = (m - self.schedule.rate * (m - 1).abs()).clamp(min=0)

    @torch.no_grad()
    def prune(self) -> None:
        """Every level's layers to exactly their target widths: the others' masks are 0 for good."""
        masks = self.masks
        for level in range(masks.levels):
            kept = masks.kept(level)
            for g, keys in enumerate(masks.groups):
                alive = torch.zeros_like(masks.alive(g)[level])
                alive[kept[keys[0]].to(alive.device)] = 1
                masks.alive(g)[level].copy_(alive)
                masks.values[g][level].mul_(alive)
        masks.pruned.fill_(True)


# -- training --------------------------------------------------------------------------------------------


class MaskDecayLoss(nn.Module):
    """A mask-decay forward pass: the student under ``level``'s masks, its RD loss plus the
    distillation term ``weight * lambda * MSE(x_hat, teacher_x_hat)``. The module DDP wraps (it holds
    the codec and the masks)."""

    def __init__(self, codec: Codec, masks: ChannelMasks, hooks: MaskHooks, lmbda: float, distill: float,
                 autocast=None):
        super().__init__()
        self.codec, self.masks, self.hooks = codec, masks, hooks
        self.lmbda, self.distill = lmbda, distill
        self.autocast = autocast or Runtime().autocast

    def forward(self, frames: torch.Tensor, level: int, teacher_x_hat: torch.Tensor
                ) -> dict[str, torch.Tensor]:
        inputs, x = codec_inputs(self.codec, frames)
        self.hooks.level = level
        try:
            with self.autocast():
                out = self.codec(*inputs)
        finally:
            self.hooks.level = None
        losses = rd_loss(out, x, self.lmbda)
        distill = F.mse_loss(out["x_hat"].to(x.dtype), teacher_x_hat)
        return {**losses, "loss": losses["loss"] + self.distill * self.lmbda * distill, "distill": distill}


class MaskDecayStep:
    """One step: decay (or prune) every level's masks, draw a level, RD + distillation under its masks."""

    def __init__(self, student: Codec, teacher: Codec, masks: ChannelMasks, samples: TrainPairs,
                 training: TrainingConfig, cfg: SupernetConfig, seed: int, runtime: Runtime):
        self.student, self.teacher, self.masks = student, teacher, masks
        self.seed, self.runtime, self.levels = seed, runtime, masks.levels
        self.hooks = MaskHooks(student, masks)
        self.decay = MaskDecay(masks, DecaySchedule.of(cfg))
        self.optimizer = torch.optim.Adam([{"params": student.parameters(), "lr": training.lr},
                                           {"params": masks.parameters(), "lr": training.lr}])
        self.scaler = runtime.grad_scaler()
        self.loss = runtime.wrap(MaskDecayLoss(student, masks, self.hooks, training.lmbda,
                                               cfg.mask_decay_distill, runtime.autocast))
        self.batches = StepBatches(samples, training.batch, runtime)

    def __call__(self, step: int) -> dict[str, float]:
        self.decay(step)
        self.student.train()
        level = int(torch.randint(self.levels, (1,), generator=step_generator(self.seed, step)))
        frames = self.batches(step)
        with torch.no_grad():
            teacher_x_hat = self.teacher(*codec_inputs(self.teacher, frames)[0])["x_hat"].float()
        with self.batches.noise(step):
            out = self.loss(frames, level, teacher_x_hat)
        optimizer_step(out["loss"], self.optimizer, self.scaler,
                       list(self.student.parameters()) + list(self.masks.parameters()))
        losses = self.runtime.mean({k: out[k] for k in LOSS_TERMS + ("distill",)})
        return {**figures_of(losses), "level": level + 1, **self.sparsity()}

    def sparsity(self) -> dict[str, float]:
        """Per level, the share of channels whose mask is below 0.5 (the decay's progress)."""
        out = {}
        for level in range(self.levels):
            masks = [self.masks.mask(level, keys[0]).detach() for keys in self.masks.groups]
            below = sum(int((m < 0.5).sum()) for m in masks)
            out[f"L{level + 1}"] = below / max(1, sum(m.numel() for m in masks))
        return out


class MaskDecayNet:
    """What mask decay leaves: the student, its masks and the levels landed on their targets; each
    level's merged, pruned codec."""

    def __init__(self, space: Space, complexity: Complexity, student: Codec, teacher: Codec,
                 masks: ChannelMasks, targets: list[float], landings: list[Landing]):
        self.space, self.complexity, self.codec, self.teacher = space, complexity, student, teacher
        self.masks, self.targets, self.landings = masks, targets, landings

    def levels(self, tolerance: float = 0.005, interpolate: Sequence[float] = ()) -> list[LevelResult]:
        """Each level at its landed layout (``tolerance`` was applied when the widths were fixed)."""
        if interpolate:
            raise BadInput("interpolate= with selector=mask_decay: give every target in target_gmacs")
        return [LevelResult(f"Level {i + 1}", t, [float(j == i) for j in range(len(self.targets))],
                            landing.gmacs, landing, self.space.layout_of(landing.choice))
                for i, (t, landing) in enumerate(zip(self.targets, self.landings))]

    def level_index(self, layout: Mapping[str, int]) -> int:
        for i, landing in enumerate(self.landings):
            if self.space.layout_of(landing.choice) == dict(layout):
                return i
        raise ValueError("not the layout of a mask-decay level")

    def merged(self, level: int) -> Codec:
        """The full-width student with ``level``'s masks folded into its convolutions (Claim 1)."""
        merged = self.space.codec(None)
        merged.load_state_dict(self.codec.state_dict())
        return fold_masks(merged, self.masks, level).eval()

    def kept(self, level: int) -> dict[str, torch.Tensor]:
        return self.masks.kept(level)

    def level_codec(self, level: LevelResult | None) -> Codec:
        """The codec at a level's layout holding the kept channels of the merged weights (None: the
        teacher, the original decoder)."""
        if level is None:
            return self.teacher.eval()
        index = self.level_index(level.layout)
        return load_sliced(self.space.codec(level.layout), self.merged(index), self.kept(index)).eval()

    @torch.no_grad()
    def masked(self, level: int, *inputs: torch.Tensor) -> dict:
        """The student's output under ``level``'s masks (what the merged codec must reproduce)."""
        hooks = MaskHooks(self.codec, self.masks)
        hooks.level = level
        try:
            return self.codec.eval()(*inputs)
        finally:
            hooks.remove()

    def to(self, device: torch.device | str) -> "MaskDecayNet":
        for module in (self.codec, self.teacher, self.masks):
            module.to(device)
        return self


def frozen(codec: Codec) -> Codec:
    for p in codec.parameters():
        p.requires_grad_(False)
    return codec.eval()


def train_mask_decay(space: Space, complexity: Complexity, stage1_weights: str, targets: list[float],
                     clips: Clips | Any, training: TrainingConfig, cfg: SupernetConfig, out: Path, *,
                     seed: int, meta: Mapping[str, Any] | None = None, runtime: Runtime | None = None,
                     extend: bool = False) -> MaskDecayNet:
    """Mask decay from the stage-1 teacher to each target's landed layout, trained (or resumed) in
    ``out``; once it has ended (``stage.json``) it is loaded, not trained again, unless ``extend``.
    Comes back on the CPU."""
    runtime = runtime or Runtime()
    check_mask_decay(cfg, space)
    torch.manual_seed(seed)
    landings = [target_landing(space, complexity, t, cfg.tolerance) for t in targets]
    widths = [[space.layout_of(lnd.choice)[g[0]] for g in space.groups] for lnd in landings]
    teacher = frozen(codec_with_weights(space, space.full_layout(), stage1_weights))
    student = codec_with_weights(space, space.full_layout(), stage1_weights)
    masks = ChannelMasks(space, widths)
    teacher_norms(teacher, masks)
    for module in (teacher, student, masks):
        module.to(runtime.device)
    runtime.seed_process(seed)
    samples = TrainPairs(clips, training.crop, frames_per_sample(student, 2),
                         samples_per_epoch=cfg.steps * training.batch, seed=seed + 1)
    step = MaskDecayStep(student, teacher, masks, samples, training, cfg, seed, runtime)
    meta = {"codec": space.codec_name, "space": space.name, "layout": space.full_layout(),
            "targets": targets, "selector": "mask_decay", **(meta or {})}
    try:
        run_stage2_loop(step, {"model": student, "masks": masks}, training, cfg, out,
                        desc=f"mask decay {space.codec_name}", levels=len(targets), meta=meta,
                        runtime=runtime, extend=extend)
    finally:
        step.hooks.remove()
    if not bool(masks.pruned):  # the decay took every step (mask_decay_fraction=1) or time ran out
        step.decay.prune()
    return MaskDecayNet(space, complexity, student, teacher, masks, targets, landings).to("cpu")
