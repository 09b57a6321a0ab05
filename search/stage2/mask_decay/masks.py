"""Mask decay's masks (EVC, Wang et al., ICLR 2023, section 3.2): one scale per output channel of every
convolution of a searchable layer, per level; applied by forward hooks, folded into the convolutions
for good (Claim 1), and which spaces allow them.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ...codec import Codec
from ...nn.layers import (SlimConv2d, SlimConvTranspose2d, SlimDeformConv2d, SlimDepthwiseConv2d, SlimGDN,
                          SlimMaskedConv2d, SubPixelConv2d, slim_modules)
from ...nn.widths import segments
from ...space import Space

#: modules that hold a mask on their output channels (their weight's output dimension, then the bias)
CONVS = (SlimConv2d, SlimMaskedConv2d, SlimConvTranspose2d, SubPixelConv2d, SlimDepthwiseConv2d,
         SlimDeformConv2d)
#: modules through which zeroed channels stay zero and whose parameters follow any kept channels
PASS_ZEROS = (SlimGDN,)


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
