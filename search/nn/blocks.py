"""Residual blocks of the public DVC, FVC and DCVC code, Ballé et al.'s GDN transforms and ELF-VC's
Delayed-Merge block, each written once.

A block takes its two convolutions already built, so one class serves the decoder side (``.slim``:
width-aware convolutions, one ``R`` row of the structure table) and the encoder side (``.plain``:
full-width ``nn.Conv2d``, not searched). A block's row is ``R``: its searchable width is the hidden one
(the first conv's output); the second conv's output is the trunk, tied to the block's input by the skip.
Keys are the public code's (``conv1``/``conv2``, ``conv.0``/``conv.2``, ``res1..res3``).
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from .layers import SlimConv2d, conv, deconv
from .widths import Width, Widths, WidthLike


def slim_pair(w: Widths, trunk: Width, hidden: Width, kernel_size: int, row: str
              ) -> tuple[SlimConv2d, SlimConv2d]:
    """trunk -> hidden -> trunk convolutions, both counted in row ``row``."""
    return (SlimConv2d(w, trunk, hidden, kernel_size, row=row),
            SlimConv2d(w, hidden, trunk, kernel_size, row=row))


def plain_pair(channels: int, kernel_size: int) -> tuple[nn.Conv2d, nn.Conv2d]:
    return (nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2),
            nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2))


class _TwoConvBlock(nn.Module):
    """A residual block of two convolutions; subclasses say where the activations go."""

    def __init__(self, conv1: nn.Module, conv2: nn.Module):
        super().__init__()
        self.conv1, self.conv2 = conv1, conv2

    @classmethod
    def slim(cls, w: Widths, trunk: Width, hidden: Width, kernel_size: int = 3, *, row: str,
             record: bool = True):
        """At the layout's widths; ``record=False`` when an enclosing block records the row."""
        block = cls(*slim_pair(w, trunk, hidden, kernel_size, row))
        if record:
            w.row(row, trunk, hidden)
        return block

    @classmethod
    def plain(cls, channels: int, kernel_size: int = 3):
        return cls(*plain_pair(channels, kernel_size))


class ResBlock(_TwoConvBlock):
    """DVC/DCVC ``ResBlock(c, c, 3)``: ReLU, conv1, ReLU, conv2, plus identity (pre-activation)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(F.relu(x))))


class ResidualBlockNoBN(_TwoConvBlock):
    """FVC/EDVR ``ResidualBlock_noBN(nf, ks)``: conv1, ReLU, conv2, plus identity."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


class ResBlockLReLU(_TwoConvBlock):
    """DCVC ``ResBlock_LeakyReLU_0_Point_1``: conv, LReLU(0.1), conv, LReLU(0.1), plus identity.
    Keys ``conv.0`` and ``conv.2``."""

    def __init__(self, conv1: nn.Module, conv2: nn.Module):
        nn.Module.__init__(self)
        self.conv = nn.Sequential(conv1, nn.LeakyReLU(0.1), conv2, nn.LeakyReLU(0.1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x)


class Resblocks(nn.Module):
    """FVC ``Resblocks(nf, ks)``: three ``ResidualBlock_noBN`` (``res1..res3``) and an outer skip. One
    ``R`` row: the three blocks share its hidden width."""

    def __init__(self, res1: nn.Module, res2: nn.Module, res3: nn.Module):
        super().__init__()
        self.res1, self.res2, self.res3 = res1, res2, res3

    @classmethod
    def slim(cls, w: Widths, trunk: Width, hidden: Width, kernel_size: int = 3, *, row: str
             ) -> "Resblocks":
        blocks = [ResidualBlockNoBN.slim(w, trunk, hidden, kernel_size, row=row, record=False)
                  for _ in range(3)]
        w.row(row, trunk, hidden)
        return cls(*blocks)

    @classmethod
    def plain(cls, channels: int, kernel_size: int = 3) -> "Resblocks":
        return cls(*(ResidualBlockNoBN.plain(channels, kernel_size) for _ in range(3)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.res3(self.res2(self.res1(x)))


# -- Ballé et al.'s GDN transforms (SlimVC's SlimFE/SlimFD, SlimCAE's analysis/synthesis) -------------

#: makes a GDN (``inverse=False``) or IGDN on ``width`` counted in report row ``row``
GDNFactory = Callable[[Width, bool, str], nn.Module]


class GDNAnalysis(nn.Module):
    """Ballé et al.'s analysis transform: stages of (conv, GDN), keys ``conv<i>``/``gdn<i>``; stage ``i``
    is the row ``<prefix>.conv<i>`` (kernel, stride, bias) and its GDN is counted in that row."""

    def __init__(self, w: Widths, prefix: str, width_in: Width,
                 stages: Sequence[tuple[int, int, bool]], gdn: GDNFactory):
        super().__init__()
        self.stages = len(stages)
        for i, (k, s, bias) in enumerate(stages, 1):
            key = f"{prefix}.conv{i}"
            setattr(self, f"conv{i}", conv(w, key, width_in, k, s, bias=bias))
            setattr(self, f"gdn{i}", gdn(w[key], False, key))
            width_in = w[key]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i in range(1, self.stages + 1):
            x = getattr(self, f"gdn{i}")(getattr(self, f"conv{i}")(x))
        return x


class GDNSynthesis(nn.Module):
    """Ballé et al.'s synthesis transform: stages of (IGDN, transposed conv), keys ``igdn<i>``/
    ``deconv<i>``; stage ``i`` is the row ``<prefix>.deconv<i>`` (kernel, stride, padding,
    output_padding). ``igdn1`` runs on the latent ``y`` and ``igdn<i+1>`` on ``deconv<i>``'s output:
    both are counted in row ``deconv<i>``, the row whose width their channels follow or whose input they
    are."""

    def __init__(self, w: Widths, prefix: str, y: Width, stages: Sequence[tuple[int, int, int, int]],
                 gdn: GDNFactory):
        super().__init__()
        self.stages = len(stages)
        self.igdn1 = gdn(y, True, f"{prefix}.deconv1")
        width_in = y
        for i, (k, s, p, op) in enumerate(stages, 1):
            key = f"{prefix}.deconv{i}"
            setattr(self, f"deconv{i}", deconv(w, key, width_in, k, s, p, op))
            if i < self.stages:
                setattr(self, f"igdn{i + 1}", gdn(w[key], True, key))
            width_in = w[key]

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        for i in range(1, self.stages + 1):
            y = getattr(self, f"deconv{i}")(getattr(self, f"igdn{i}")(y))
        return y


class DelayedMerge(nn.Module):
    """ELF-VC's Delayed-Merge block DM-C (Rippel et al., ICCV 2021, Sec. 3.2 and Fig. 6): several
    convolutions of ``C`` channels with additive accumulation, their activations concatenated a single
    time and reduced back to ``C`` channels::

        a_0 = x;   a_k = a_{k-1} + LeakyReLU(conv_k(a_{k-1}), 0.1)   (k = 1..K, 3x3, C -> C)
        y = merge(cat(a_0, a_1, ..., a_K))                           (1x1, (K + 1) C -> C)

    The text gives no more (its Fig. 6 is the block's drawing); these are our choices: K = 3, the
    accumulation starting from the block's input (so the input has ``C`` channels: the layer feeding a
    DM block is tied to it), the concatenation of every accumulated state including the input, a
    linear merge and no outer skip. Keys ``convs.<k>`` and ``merge``.

    Like the residual blocks above, one class serves the decoder side (``.slim``: one ``DM`` row whose
    width is ``C``) and the encoder side (``.plain``: full-width ``nn.Conv2d``).
    """

    def __init__(self, convs: list[nn.Module], merge: nn.Module):
        super().__init__()
        self.convs = nn.ModuleList(convs)
        self.merge = merge

    @classmethod
    def slim(cls, w: Widths, trunk: Width, width: Width, depth: int = 3, kernel_size: int = 3, *,
             row: str) -> "DelayedMerge":
        """At the layout's widths: ``trunk`` is the input's width (equal to ``width`` at every layout the
        codec's ties allow), ``width`` the block's ``C``; recorded as row ``DM(C)``."""
        convs = [SlimConv2d(w, trunk if k == 0 else width, width, kernel_size, row=row)
                 for k in range(depth)]
        parts: WidthLike = [trunk] + [width] * depth
        block = cls(convs, SlimConv2d(w, parts, width, 1, row=row))
        w.row(row, width)
        return block

    @classmethod
    def plain(cls, channels: int, depth: int = 3, kernel_size: int = 3) -> "DelayedMerge":
        convs = [nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2)
                 for _ in range(depth)]
        return cls(convs, nn.Conv2d(channels * (depth + 1), channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        states = [x]
        for conv in self.convs:
            states.append(states[-1] + F.leaky_relu(conv(states[-1]), 0.1))
        return self.merge(torch.cat(states, 1))
