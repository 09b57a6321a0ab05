"""Slimmable layers: each runs at any width of its options in two ways.

* **Sliced** (a fixed layout): the module is built with the layout's widths, so its weights really are
  smaller and the compute really shrinks. :func:`load_sliced` fills it from a full-width model by
  taking, for every channel dimension, the leading channels of each concatenated part.
* **Masked** (the supernet, FBNetV2 style): the module is built at full width and its output is
  multiplied by a channel mask ``sum_k a_k * [c < w_k]`` over the width options ``w_k`` with mixing
  weights ``a_k`` (one-hot in the forward pass, Gumbel-softmax relaxed in the backward pass; see
  :mod:`search.gumbel`). One full-width forward per step, whatever is sampled.

Zeroed channels stay zero through ReLU, LeakyReLU, GDN (``x / sqrt(beta + gamma x^2)`` is 0 at 0 and
its channel mixing only reads active channels), pooling, interpolation, PixelShuffle and residual
additions, so a masked forward equals the sliced one (tests check it).

Every module that multiplies and adds is one of the classes here, tagged with the report row (layer)
it belongs to, and declares its MACs as ``coefficient * in_width * out_width``: that is what lets
:mod:`search.complexity` turn one fvcore measurement into a closed form. The builders at the end
(:func:`conv`, :func:`deconv`, :func:`subpel`, :func:`masked_conv`) make a layer that is one row of the
structure table and record that row.
"""
from __future__ import annotations

from typing import Iterable, Mapping

import torch
import torch.nn as nn
import torch.nn.functional as F
from compressai.layers import GDN as _CompressaiGDN
from compressai.layers import MaskedConv2d as _CompressaiMaskedConv2d
from compressai.ops.parametrizers import NonNegativeParametrizer
from torchvision.ops import deform_conv2d

from .masks import Mix, apply_mask
from .widths import Width, WidthLike, Widths, merge, segments, total_now


#: kept channels of layers (layer key -> sorted full-width channel indices, as many as the layer's
#: width); layers it does not name keep their leading channels
Keep = Mapping[str, torch.Tensor]


def prefix_index(width: WidthLike, keep: Keep | None = None) -> torch.Tensor:
    """Full-model channel indices of the active channels: the leading ones of each concatenated part,
    or, for a part that is one layer's width named in ``keep``, that layer's kept channels (each
    repeated ``mult`` times in place for an interleaved ``mult * width`` part)."""
    parts, offset = [], 0
    for w in segments(width):
        parts.append(offset + _part_index(w, keep))
        offset += w.full
    return torch.cat(parts)


def _part_index(w: Width, keep: Keep | None) -> torch.Tensor:
    named = [k for k, _ in w.terms if keep is not None and k in keep]
    if not named:
        return torch.arange(w.now)
    if len(w.terms) != 1 or w.const:
        raise ValueError(f"cannot keep chosen channels of width {w}: one layer key expected")
    key, mult = w.terms[0]
    return expand_index(keep[key], mult)


def expand_index(index: torch.Tensor, mult: int) -> torch.Tensor:
    """Channel ``c`` of a layer as channels ``c * mult .. c * mult + mult - 1`` of an interleaved output."""
    index = torch.as_tensor(index, dtype=torch.long)
    return (index[:, None] * mult + torch.arange(mult)).flatten() if mult > 1 else index


class Slim:
    """Mixin of every MAC-carrying module: its widths, its report row, its mask and its slicing."""

    ctx: Widths
    mix: Mix
    row: str
    in_w: WidthLike
    out_w: Width

    def _slim_init(self, ctx: Widths, in_w: WidthLike, out_w: Width, row: str) -> None:
        self.ctx, self.mix, self.row = ctx, ctx.mix, row
        self.in_w, self.out_w = in_w, out_w

    def macs_widths(self) -> tuple[Width, Width]:
        """(a, b) such that MACs = coefficient * a * b for this module's kind of operation."""
        return merge(self.in_w), self.out_w

    def mask_out(self, y: torch.Tensor) -> torch.Tensor:
        return apply_mask(y, self.out_w.mask(self.mix, y))

    def load_sliced_from(self, full: nn.Module,
                         keep: Keep | None = None) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


def _no_kept_channels(module: Slim, keep: Keep | None, why: str) -> None:
    if keep is not None and module.out_w.key in keep:
        raise ValueError(f"{module.row}: {type(module).__name__} has {why}: it cannot keep chosen "
                         f"channels")


def _copy(dst: torch.Tensor, src: torch.Tensor) -> None:
    with torch.no_grad():
        dst.copy_(src)


class SlimConv2d(Slim, nn.Conv2d):
    """``nn.Conv2d`` whose input and output widths follow the layout (input may be a concatenation)."""

    def __init__(self, ctx: Widths, in_w: WidthLike, out_w: Width, kernel_size: int, stride: int = 1,
                 padding: int | None = None, bias: bool = True, *, row: str):
        nn.Conv2d.__init__(self, total_now(in_w), out_w.now, kernel_size, stride,
                           kernel_size // 2 if padding is None else padding, bias=bias)
        self._slim_init(ctx, in_w, out_w, row)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mask_out(super().forward(x))

    def load_sliced_from(self, full: nn.Conv2d, keep: Keep | None = None) -> None:
        out_idx, in_idx = prefix_index(self.out_w, keep), prefix_index(self.in_w, keep)
        _copy(self.weight, full.weight[out_idx][:, in_idx])
        if self.bias is not None:
            _copy(self.bias, full.bias[out_idx])


class SlimMaskedConv2d(Slim, _CompressaiMaskedConv2d):
    """CompressAI's causal ``MaskedConv2d`` (autoregressive context models), width-aware."""

    def __init__(self, ctx: Widths, in_w: WidthLike, out_w: Width, kernel_size: int, *, row: str):
        _CompressaiMaskedConv2d.__init__(self, total_now(in_w), out_w.now, kernel_size,
                                         padding=kernel_size // 2)
        self._slim_init(ctx, in_w, out_w, row)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mask_out(super().forward(x))

    def load_sliced_from(self, full: nn.Conv2d, keep: Keep | None = None) -> None:
        SlimConv2d.load_sliced_from(self, full, keep)  # same weight layout; the causal mask slices alike
        _copy(self.mask, full.mask[prefix_index(self.out_w, keep)][:, prefix_index(self.in_w, keep)])


class SlimConvTranspose2d(Slim, nn.ConvTranspose2d):
    """``nn.ConvTranspose2d`` (weight ``[in, out, k, k]``); stride-2 layers use output_padding 1."""

    def __init__(self, ctx: Widths, in_w: WidthLike, out_w: Width, kernel_size: int, stride: int = 1,
                 padding: int | None = None, output_padding: int | None = None, bias: bool = True,
                 *, row: str):
        padding = kernel_size // 2 if padding is None else padding
        output_padding = stride - 1 if output_padding is None else output_padding
        nn.ConvTranspose2d.__init__(self, total_now(in_w), out_w.now, kernel_size, stride, padding,
                                    output_padding, bias=bias)
        self._slim_init(ctx, in_w, out_w, row)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mask_out(super().forward(x))

    def load_sliced_from(self, full: nn.ConvTranspose2d, keep: Keep | None = None) -> None:
        out_idx, in_idx = prefix_index(self.out_w, keep), prefix_index(self.in_w, keep)
        _copy(self.weight, full.weight[in_idx][:, out_idx])
        if self.bias is not None:
            _copy(self.bias, full.bias[out_idx])


class SubPixelConv2d(Slim, nn.Sequential):
    """DCVC's ``subpel_conv3x3`` (and EVC's ``subpel_conv1x1`` with ``kernel_size=1``): a conv to
    ``r^2 * out`` channels, then PixelShuffle(r).

    PixelShuffle maps conv channel ``c * r^2 + i`` to output channel ``c``, so the leading ``r^2 * w``
    conv channels are exactly the leading ``w`` output channels: slicing stays a prefix.
    Keys ``<m>.0.weight``/``<m>.0.bias`` as in the public code.
    """

    def __init__(self, ctx: Widths, in_w: WidthLike, out_w: Width, upscale: int = 2,
                 kernel_size: int = 3, *, row: str):
        nn.Sequential.__init__(self, nn.Conv2d(total_now(in_w), out_w.now * upscale ** 2, kernel_size,
                                               padding=kernel_size // 2), nn.PixelShuffle(upscale))
        self._slim_init(ctx, in_w, out_w, row)
        self.upscale = upscale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mask_out(nn.Sequential.forward(self, x))

    def load_sliced_from(self, full: nn.Sequential, keep: Keep | None = None) -> None:
        r2 = self.upscale ** 2
        out_idx = expand_index(prefix_index(self.out_w, keep), r2)  # conv channel c * r^2 + i -> c
        in_idx = prefix_index(self.in_w, keep)
        _copy(self[0].weight, full[0].weight[out_idx][:, in_idx])
        _copy(self[0].bias, full[0].bias[out_idx])


def nonpersistent_buffers(module: nn.Module) -> None:
    """Keep every buffer of ``module`` out of its state_dict.

    CompressAI's GDN stores its reparametrisation constants as buffers; the public DVC/FVC/DCVC GDN
    (the same reparametrisation, pedestal 2**-36, beta >= 1e-6) keeps them as plain attributes, so their
    checkpoints hold only ``beta`` and ``gamma``. Marking the buffers non-persistent makes those
    checkpoints load strictly; the constants are recomputed by the constructor anyway."""
    for sub in module.modules():
        for name in list(sub._buffers):
            sub._non_persistent_buffers_set.add(name)


class SlimGDN(Slim, _CompressaiGDN):
    """CompressAI's GDN/IGDN (Balle et al.) at the layout's width; params ``beta`` [C], ``gamma`` [C,C].

    fvcore counts its ``conv2d(x**2, gamma, beta)``: C*C MACs per pixel, the square root is skipped.
    """

    def __init__(self, ctx: Widths, width: Width, inverse: bool = False, *, row: str):
        _CompressaiGDN.__init__(self, width.now, inverse=inverse)
        nonpersistent_buffers(self)
        self._slim_init(ctx, width, width, row)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mask_out(super().forward(x))

    def load_sliced_from(self, full: _CompressaiGDN, keep: Keep | None = None) -> None:
        idx = prefix_index(self.out_w, keep)
        _copy(self.beta, full.beta[idx])
        _copy(self.gamma, full.gamma[idx][:, idx])


def _switch_sets(row: str, width: Width, options: Iterable[int]) -> list[int]:
    """The widths a switchable layer keeps parameters for: every option at full width, else only the
    built width (which must be an option)."""
    options = sorted(set(int(o) for o in options) | {width.full})
    if width.now not in options:
        raise ValueError(f"{row}: switchable layer has no parameter set for width {width.now}; "
                         f"it has {options}")
    return options if width.now == width.full else [width.now]


def mix_width_branches(x: torch.Tensor, entry: tuple[torch.Tensor, tuple[int, ...]],
                       branch) -> torch.Tensor:
    """``sum_k a_k * pad(branch(x[:, :w_k], w_k))``: a layer with per-width parameters under channel
    masks. With one-hot weights this is exactly the chosen width's layer on its leading channels (zero
    beyond), i.e. the sliced layer's output."""
    weights, widths = entry
    out = x.new_zeros(x.shape)
    for a, w in zip(weights.to(x.dtype), widths):
        out = out + a * F.pad(branch(x[:, :w], w), (0, 0, 0, 0, 0, x.shape[1] - w))
    return out


class SwitchableGDN(Slim, nn.Module):
    """SlimCAE's SwitchGDN (Yang et al., section 3.4, Eq. 2; SlimVC uses it too): one GDN/IGDN
    parameter set per width (``gdn.<width>.beta``/``.gamma``).

    Built at full width it holds a set for every width in ``options``; built at a layout it holds only
    that width's set. Masked, it mixes the sets by the width weights (each set on its leading channels).
    """

    def __init__(self, ctx: Widths, width: Width, options: Iterable[int], inverse: bool = False,
                 *, row: str):
        nn.Module.__init__(self)
        kept = _switch_sets(row, width, options)
        self.gdn = nn.ModuleDict({str(c): _CompressaiGDN(c, inverse=inverse) for c in kept})
        nonpersistent_buffers(self)
        self._slim_init(ctx, width, width, row)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        entry = self.mix.weights(self.out_w.key) if self.out_w.key else None
        if entry is None:  # the built width, not x.shape[1]: under jit tracing (fvcore) that is a tensor
            return self.gdn[str(self.out_w.now)](x)
        return mix_width_branches(x, entry, lambda part, w: self.gdn[str(w)](part))

    def load_sliced_from(self, full: "SwitchableGDN", keep: Keep | None = None) -> None:
        _no_kept_channels(self, keep, "one parameter set per width, each for its leading channels")
        for name, gdn in self.gdn.items():
            src = full.gdn[name]
            _copy(gdn.beta, src.beta)
            _copy(gdn.gamma, src.gamma)


class SlimGDNPlus(Slim, nn.Module):
    """SlimCAE's SlimGDN+ (Yang et al., section 3.4, Fig. 3c): one slimmable GDN/IGDN (``gdn.beta``
    [C], ``gdn.gamma`` [C, C], shared by every width as SlimGDN's are: a narrower width uses their leading
    block) modulated per width by four switchable scalars, ``gamma_k = s_gamma,k * gamma' + b_gamma,k``
    and ``beta_k = s_beta,k * beta' + b_beta,k`` (``modulation.<width>`` = [s_beta, b_beta, s_gamma,
    b_gamma]). The scalars are kept non-negative by the same reparametrisation as beta and gamma
    (scales start at 1, biases at 0), as the SlimCAE code does.

    Built at full width it holds the scalars of every width in ``options``; built at a layout, only that
    width's. Masked, it mixes the widths' outputs by the mask weights, each on its leading channels, so
    the masked full model equals the sliced one. fvcore counts its ``conv2d(x**2, gamma, beta)``: C*C
    MACs per pixel, like a GDN.
    """

    def __init__(self, ctx: Widths, width: Width, options: Iterable[int], inverse: bool = False,
                 *, row: str):
        nn.Module.__init__(self)
        kept = _switch_sets(row, width, options)
        self.gdn = _CompressaiGDN(width.now, inverse=inverse)
        self.modulation_reparam = NonNegativeParametrizer()
        start = self.modulation_reparam.init(torch.tensor([1.0, 0.0, 1.0, 0.0]))
        self.modulation = nn.ParameterDict({str(c): nn.Parameter(start.clone()) for c in kept})
        nonpersistent_buffers(self)
        self._slim_init(ctx, width, width, row)

    def _normalise(self, x: torch.Tensor, width: int) -> torch.Tensor:
        """The GDN of the leading ``width`` channels with that width's modulation."""
        s_beta, b_beta, s_gamma, b_gamma = self.modulation_reparam(self.modulation[str(width)])
        beta = s_beta * self.gdn.beta_reparam(self.gdn.beta)[:width] + b_beta
        gamma = s_gamma * self.gdn.gamma_reparam(self.gdn.gamma)[:width, :width] + b_gamma
        norm = F.conv2d(x ** 2, gamma[:, :, None, None], beta)
        return x * (torch.sqrt(norm) if self.gdn.inverse else torch.rsqrt(norm))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        entry = self.mix.weights(self.out_w.key) if self.out_w.key else None
        if entry is None:
            return self._normalise(x, self.out_w.now)
        return mix_width_branches(x, entry, self._normalise)

    def load_sliced_from(self, full: "SlimGDNPlus", keep: Keep | None = None) -> None:
        _no_kept_channels(self, keep, "per-width modulation of its leading channels")
        idx = prefix_index(self.out_w, keep)
        _copy(self.gdn.beta, full.gdn.beta[idx])
        _copy(self.gdn.gamma, full.gdn.gamma[idx][:, idx])
        for name, p in self.modulation.items():
            _copy(p, full.modulation[name])


class SlimDepthwiseConv2d(Slim, nn.Conv2d):
    """A depth-wise ``nn.Conv2d`` (``groups`` = channels, weight ``[C, 1, k, k]``) at the layout's width.

    fvcore counts ``C/g * C * k * k * H * W`` = ``C * k * k * H * W``: linear in the width, so its
    MACs are ``coefficient * C * 1`` (:meth:`macs_widths` gives the constant 1 as the second factor).
    """

    def __init__(self, ctx: Widths, width: Width, kernel_size: int = 3, bias: bool = True, *, row: str):
        nn.Conv2d.__init__(self, width.now, width.now, kernel_size, padding=kernel_size // 2,
                           groups=width.now, bias=bias)
        self._slim_init(ctx, width, width, row)

    def macs_widths(self) -> tuple[Width, Width]:
        return self.out_w, Widths.fixed(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mask_out(super().forward(x))

    def load_sliced_from(self, full: nn.Conv2d, keep: Keep | None = None) -> None:
        idx = prefix_index(self.out_w, keep)
        _copy(self.weight, full.weight[idx])
        if self.bias is not None:
            _copy(self.bias, full.bias[idx])


class SlimDeformConv2d(Slim, nn.Module):
    """Deformable convolution v1 as in FVC's ``DeformConvPack`` (8 deformable groups, no bias), run with
    ``torchvision.ops.deform_conv2d``. Its offsets come from ``conv_offset`` (zero-initialised) applied
    to the decoded offset features; keys ``<m>.weight`` and ``<m>.conv_offset.{weight,bias}``.

    Slimming the input keeps whole deformable groups: a width ``w`` uses the first ``w / (full / 8)``
    groups and their offsets, so each channel keeps the offsets it has at full width.
    """

    def __init__(self, ctx: Widths, in_w: Width, out_w: Width, offset_in: WidthLike,
                 kernel_size: int = 3, deformable_groups: int = 8, *, row: str, offset_row: str):
        nn.Module.__init__(self)
        if in_w.full % deformable_groups or in_w.now % (in_w.full // deformable_groups):
            raise ValueError(f"{row}: width {in_w.now} does not keep whole deformable groups "
                             f"(multiples of {in_w.full // deformable_groups} expected)")
        self.kernel_size, self.groups = kernel_size, deformable_groups
        self.weight = nn.Parameter(torch.empty(out_w.now, in_w.now, kernel_size, kernel_size))
        nn.init.kaiming_uniform_(self.weight, a=5 ** 0.5)
        offsets = Widths.fixed(deformable_groups * 2 * kernel_size * kernel_size)
        self.conv_offset = SlimConv2d(ctx, offset_in, offsets, kernel_size, row=offset_row)
        nn.init.zeros_(self.conv_offset.weight)
        nn.init.zeros_(self.conv_offset.bias)
        self._slim_init(ctx, in_w, out_w, row)

    def forward(self, x: torch.Tensor, offset_feature: torch.Tensor) -> torch.Tensor:
        offset = self.conv_offset(offset_feature)
        active_groups = self.groups * self.in_w.now // self.in_w.full
        offset = offset[:, : active_groups * 2 * self.kernel_size ** 2]
        if torch.is_autocast_enabled(x.device.type):
            # in fp32 under autocast, as torchvision's own CUDA autocast rule runs it (its CPU kernel
            # has no bf16, and sampling positions want fp32 anyway)
            with torch.autocast(x.device.type, enabled=False):
                y = deform_conv2d(x.float(), offset.float(), self.weight.float(),
                                  padding=self.kernel_size // 2)
        else:
            y = deform_conv2d(x, offset, self.weight, padding=self.kernel_size // 2)
        return self.mask_out(y)

    def load_sliced_from(self, full: "SlimDeformConv2d", keep: Keep | None = None) -> None:
        if keep is not None and any(k in keep for k, _ in merge(self.in_w).terms):
            raise ValueError(f"{self.row}: a deformable conv keeps whole deformable groups of its "
                             f"leading input channels, not chosen ones")
        out_idx, in_idx = prefix_index(self.out_w, keep), prefix_index(self.in_w, keep)
        _copy(self.weight, full.weight[out_idx][:, in_idx])


def slim_modules(model: nn.Module) -> Iterable[tuple[str, Slim]]:
    """The MAC-carrying modules of a model, by qualified name."""
    for name, module in model.named_modules():
        if isinstance(module, Slim):
            yield name, module


def load_sliced(small: nn.Module, full: nn.Module, keep: Keep | None = None) -> nn.Module:
    """Fill ``small`` (built at a layout) with the corresponding channels of ``full`` (full width): the
    leading ones of each layer, or the channels ``keep`` names for its layers (EVC's mask decay keeps
    the channels whose masks survived).

    Parameters outside slimmable modules (entropy models' CDFs, etc.) must have equal shapes and are
    copied as they are.
    """
    full_modules = dict(full.named_modules())
    sliced = set()
    for name, module in slim_modules(small):
        module.load_sliced_from(full_modules[name], keep)
        sliced.update(f"{name}.{p}" if name else p for p, _ in module.named_parameters())
        sliced.update(f"{name}.{b}" if name else b for b, _ in module.named_buffers())
    full_state = full.state_dict()
    with torch.no_grad():
        for key, value in small.state_dict().items():
            if key in sliced:
                continue
            src = full_state[key]
            if src.shape != value.shape:
                raise ValueError(f"{key}: shape {tuple(value.shape)} is not slimmable from "
                                 f"{tuple(src.shape)}")
            value.copy_(src)
    return small


# -- builders: one layer that is one row of the structure table -------------------------------------


def conv(w: Widths, key: str, width_in: WidthLike, kernel_size: int, stride: int = 1,
         padding: int | None = None, out: Width | None = None, bias: bool = True) -> SlimConv2d:
    """Row ``key``: a conv from ``width_in`` to ``key``'s width (or ``out``), recorded as C(in,out)."""
    out = w[key] if out is None else out
    layer = SlimConv2d(w, width_in, out, kernel_size, stride, padding, bias, row=key)
    w.row(key, width_in, out)
    return layer


def deconv(w: Widths, key: str, width_in: WidthLike, kernel_size: int, stride: int = 1,
           padding: int | None = None, output_padding: int | None = None) -> SlimConvTranspose2d:
    """Row ``key``: a transposed conv to ``key``'s width, recorded as D(in,out)."""
    layer = SlimConvTranspose2d(w, width_in, w[key], kernel_size, stride, padding, output_padding,
                                row=key)
    w.row(key, width_in, w[key])
    return layer


def subpel(w: Widths, key: str, width_in: WidthLike, upscale: int = 2,
           kernel_size: int = 3) -> SubPixelConv2d:
    """Row ``key``: a sub-pixel conv to ``key``'s width, recorded as S(in,out)."""
    layer = SubPixelConv2d(w, width_in, w[key], upscale, kernel_size, row=key)
    w.row(key, width_in, w[key])
    return layer


def masked_conv(w: Widths, key: str, width_in: WidthLike, kernel_size: int = 5) -> SlimMaskedConv2d:
    """Row ``key``: a causal (autoregressive) conv to ``key``'s width, recorded as C(in,out)."""
    layer = SlimMaskedConv2d(w, width_in, w[key], kernel_size, row=key)
    w.row(key, width_in, w[key])
    return layer
