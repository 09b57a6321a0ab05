"""The factorized prior of Balle et al. (ICLR 2018) as the public DVC/FVC/DCVC code writes it.

``BitEstimator`` keeps the public parameter names (``f1..f4``, one scalar per channel per layer: ``h``,
``b``, ``a``) and is a CompressAI ``EntropyModel`` whose per-channel CDFs drive CompressAI's rANS
coder. Used for hyper-latents and DVC's motion. CompressAI's coder tables (``_quantized_cdf``...) are
not part of the state dict (the public checkpoints have none): call
:func:`search.entropy.update_all` after loading weights, before ``compress``.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from compressai.entropy_models import EntropyModel

from ..nn.layers import nonpersistent_buffers
from .common import quantize


class Bitparm(nn.Module):
    """One layer of the public ``BitEstimator``: ``x * softplus(h) + b``, then ``x + tanh(x) tanh(a)``
    (or a sigmoid for the last layer)."""

    def __init__(self, channels: int, final: bool = False):
        super().__init__()
        self.final = final
        self.h = nn.Parameter(torch.empty(1, channels, 1, 1).normal_(0, 0.01))
        self.b = nn.Parameter(torch.empty(1, channels, 1, 1).normal_(0, 0.01))
        self.a = None if final else nn.Parameter(torch.empty(1, channels, 1, 1).normal_(0, 0.01))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * F.softplus(self.h) + self.b
        if self.final:
            return torch.sigmoid(x)
        return x + torch.tanh(x) * torch.tanh(self.a)


class BitEstimator(EntropyModel):
    """Per-channel factorized prior (keys ``f1..f4.{h,b,a}`` as in the public code)."""

    def __init__(self, channels: int, tail_mass: float = 1e-9, max_range: int = 512):
        super().__init__()
        self.channels, self.tail_mass, self.max_range = channels, tail_mass, max_range
        self.f1, self.f2, self.f3 = Bitparm(channels), Bitparm(channels), Bitparm(channels)
        self.f4 = Bitparm(channels, final=True)
        nonpersistent_buffers(self)

    def cdf(self, x: torch.Tensor) -> torch.Tensor:
        return self.f4(self.f3(self.f2(self.f1(x))))

    def likelihood(self, x: torch.Tensor) -> torch.Tensor:
        p = self.cdf(x + 0.5) - self.cdf(x - 0.5)
        return self.likelihood_lower_bound(p) if self.use_likelihood_bound else p

    def forward(self, x: torch.Tensor, training: bool | None = None):
        """(quantised x, likelihoods): noise in training, rounding otherwise."""
        x_hat = quantize(x, self.training if training is None else training)
        return x_hat, self.likelihood(x_hat)

    @torch.no_grad()
    def update(self, force: bool = False) -> bool:
        """Build the coder's per-channel CDF tables over the integers with non-negligible mass."""
        if self._offset.numel() > 0 and not force:
            return False
        device = self.f1.h.device
        support = torch.arange(-self.max_range, self.max_range + 1, device=device, dtype=torch.float32)
        grid = support.view(1, 1, -1, 1).expand(1, self.channels, -1, 1)
        upper, lower = self.cdf(grid + 0.5)[0, :, :, 0], self.cdf(grid - 0.5)[0, :, :, 0]
        pmf = upper - lower
        keep = (lower > self.tail_mass / 2) & (upper < 1 - self.tail_mass / 2)
        keep |= pmf > self.tail_mass
        first = torch.argmax(keep.int(), dim=1)
        last = keep.shape[1] - 1 - torch.argmax(keep.flip(1).int(), dim=1)
        lengths = (last - first + 1).clamp(min=1)
        max_length = int(lengths.max())
        rows = torch.zeros(self.channels, max_length, device=device)
        tails = torch.zeros(self.channels, 1, device=device)
        for c in range(self.channels):
            lo, n = int(first[c]), int(lengths[c])
            rows[c, :n] = pmf[c, lo:lo + n]
            tails[c] = lower[c, lo] + (1 - upper[c, lo + n - 1])
        self._quantized_cdf = self._pmf_to_cdf(rows, tails, lengths, max_length)
        self._offset = (first - self.max_range).int()
        self._cdf_length = (lengths + 2).int()
        return True

    def _indexes(self, shape: torch.Size) -> torch.Tensor:
        return torch.arange(shape[1]).view(1, -1, 1, 1).expand(shape).int()

    def compress(self, x: torch.Tensor) -> list[bytes]:
        return super().compress(x, self._indexes(x.shape))

    def decompress(self, strings: list[bytes], shape: torch.Size) -> torch.Tensor:
        indexes = self._indexes(torch.Size(shape)).to(self.f1.h.device)
        return super().decompress(strings, indexes, torch.float32)
