"""fvcore, set up to count MACs of a codec's decoder side and to list what it does not count.

fvcore counts one multiply-add as one "flop", so its totals are MACs. We keep its handles for the ops
that multiply and add (convolutions, linear layers, matrix products), add one for torchvision's
deformable convolution (``Cin/g * Cout * kH * kW`` per output pixel, like a conv; the bilinear
sampling of the input is not counted), and drop its element-wise estimates for interpolation and
sampling (``upsample_*``, ``grid_sampler``, pooling), which are not MACs: those, and every other
element-wise op (adds, activations, GDN's square root, exp), are reported as uncounted, with counts.
Pure data movement (views, slicing, concatenation) is ignored.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from math import prod
from typing import Mapping, Sequence

import torch
from fvcore.nn import FlopCountAnalysis
from fvcore.nn.jit_handles import get_shape

from ..codec import Codec, DecoderView

NOT_MACS = ("aten::upsample_nearest2d", "aten::upsample_bilinear2d", "aten::adaptive_avg_pool2d",
            "aten::grid_sampler", "aten::batch_norm", "aten::group_norm", "aten::layer_norm",
            "aten::instance_norm")

DATA_MOVEMENT = {
    "aten::Int", "aten::ScalarImplicit", "aten::arange", "aten::cat", "aten::chunk",
    "aten::constant_pad_nd", "aten::contiguous", "aten::copy_", "aten::detach", "aten::empty",
    "aten::expand", "aten::flatten", "aten::full", "aten::full_like", "aten::linspace",
    "aten::meshgrid", "aten::narrow", "aten::new_empty", "aten::new_full", "aten::new_zeros",
    "aten::ones", "aten::ones_like", "aten::permute", "aten::repeat_interleave", "aten::reshape",
    "aten::select", "aten::size", "aten::slice", "aten::split", "aten::split_with_sizes",
    "aten::squeeze", "aten::stack", "aten::t", "aten::to", "aten::transpose", "aten::type_as",
    "aten::unbind", "aten::unsqueeze", "aten::view", "aten::zeros", "aten::zeros_like",
    "aten::lift_fresh", "aten::alias", "aten::clone", "aten::pad", "aten::tensor",
    "aten::scalar_tensor", "aten::numel", "aten::dim", "aten::index", "aten::lift",
}


def deform_conv_macs(inputs: Sequence, outputs: Sequence) -> int:
    """MACs of ``torchvision::deform_conv2d``: output elements x (Cin/groups * kH * kW)."""
    weight_shape = get_shape(inputs[1])
    return prod(get_shape(outputs[0])) * prod(weight_shape[1:])


@dataclass
class MacCount:
    """fvcore's MAC count of one decoder forward: per module path (inclusive) and what it skipped."""

    by_module: dict[str, int]
    total: int
    uncounted_ops: dict[str, int]


def count_decoder(codec: Codec, inputs: Mapping[str, torch.Tensor]) -> MacCount:
    """Run fvcore on ``codec.decode(**inputs)``. Module paths are the codec's (``mvDecoder.deconv1``)."""
    return count_module(DecoderView(codec, list(inputs)).eval(), tuple(inputs.values()), "codec.")


def count_module(module: torch.nn.Module, inputs: Sequence[torch.Tensor], prefix: str = "") -> MacCount:
    """Run fvcore on ``module(*inputs)`` (an exported part, or a codec's decoder view whose module
    paths lose ``prefix``)."""
    with torch.no_grad():
        analysis = FlopCountAnalysis(module, tuple(inputs))
        analysis.set_op_handle("torchvision::deform_conv2d", deform_conv_macs)
        for op in NOT_MACS:
            analysis._op_handles.pop(op, None)  # no public API removes a default handle
        analysis._ignored_ops = set(DATA_MOVEMENT)  # report element-wise ops instead of hiding them
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        analysis.tracer_warnings("none")
        by_module = analysis.by_module()
        uncounted = analysis.unsupported_ops()
    counts = {name[len(prefix):] if name.startswith(prefix) else name: int(v)
              for name, v in by_module.items()}
    return MacCount(counts, int(analysis.total()), dict(sorted(Counter(uncounted).items())))
