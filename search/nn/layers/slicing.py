"""What every slimmable layer shares: the channel indices a width keeps, the :class:`Slim` mixin, and
:func:`load_sliced`, which fills a sliced model from a full-width one."""
from __future__ import annotations

from typing import Iterable, Mapping

import torch
import torch.nn as nn

from ..masks import Mix, apply_mask
from ..widths import Width, WidthLike, Widths, merge, segments


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


def nonpersistent_buffers(module: nn.Module) -> None:
    """Keep every buffer of ``module`` out of its state_dict.

    CompressAI's GDN stores its reparametrisation constants as buffers; the public DVC/FVC/DCVC GDN
    (the same reparametrisation, pedestal 2**-36, beta >= 1e-6) keeps them as plain attributes, so their
    checkpoints hold only ``beta`` and ``gamma``. Marking the buffers non-persistent makes those
    checkpoints load strictly; the constants are recomputed by the constructor anyway."""
    for sub in module.modules():
        for name in list(sub._buffers):
            sub._non_persistent_buffers_set.add(name)


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
