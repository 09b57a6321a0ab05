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
:mod:`search.complexity` turn one fvcore measurement into a closed form. The builders (:func:`conv`,
:func:`deconv`, :func:`subpel`, :func:`masked_conv`, in :mod:`.convs`) make a layer that is one row of
the structure table and record that row. :mod:`.slicing` holds what all layers share, :mod:`.convs`
the convolutions, :mod:`.gdn` the GDNs.
"""
from __future__ import annotations

from .convs import (SlimConv2d, SlimConvTranspose2d, SlimDeformConv2d, SlimDepthwiseConv2d, SlimMaskedConv2d,
                    SubPixelConv2d, conv, deconv, masked_conv, subpel)
from .gdn import (SlimGDN, SlimGDNPlus, SwitchableGDN, _switch_sets, mix_width_branches)
from .slicing import (Keep, Slim, _copy, _no_kept_channels, _part_index, expand_index, load_sliced,
                      nonpersistent_buffers, prefix_index, slim_modules)

__all__ = ["SlimConv2d", "SlimConvTranspose2d", "SlimDeformConv2d", "SlimDepthwiseConv2d", "SlimMaskedConv2d",
           "SubPixelConv2d", "conv", "deconv", "masked_conv", "subpel", "SlimGDN", "SlimGDNPlus",
           "SwitchableGDN", "mix_width_branches", "Keep", "Slim", "expand_index", "load_sliced",
           "nonpersistent_buffers", "prefix_index", "slim_modules"]
