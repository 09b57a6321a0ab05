"""Slimmable GDN layers: one GDN sliced or masked, switchable GDNs (one per width, SlimCAE), GDN+ (EVC)."""
from __future__ import annotations

from typing import Iterable

import torch
import torch.nn as nn
import torch.nn.functional as F
from compressai.layers import GDN as _CompressaiGDN
from compressai.ops.parametrizers import NonNegativeParametrizer

from ..widths import Width, Widths
from .slicing import Keep, Slim, _copy, _no_kept_channels, nonpersistent_buffers, prefix_index


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
