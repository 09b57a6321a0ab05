"""Slimmable convolutions (plain, masked, transposed, sub-pixel, depthwise, deformable) and the builders of
one structure-table row each."""
from __future__ import annotations


import torch
import torch.nn as nn
from compressai.layers import MaskedConv2d as _CompressaiMaskedConv2d
from torchvision.ops import deform_conv2d

from ..widths import Width, WidthLike, Widths, merge, total_now
from .slicing import Keep, Slim, _copy, expand_index, prefix_index


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
