"""Laplace latents: CompressAI's ``GaussianConditional`` with the Laplace distribution the public
DVC/DCVC code uses for latents (``torch.distributions.Laplace(mu, sigma)``).

Differences from the public code: likelihoods are lower-bounded at 1e-9 (CompressAI) instead of adding
1e-5 inside the log, and scales at 0.11 (CompressAI's scale table) instead of 1e-5.
"""
from __future__ import annotations

import math

import torch
from compressai.entropy_models import GaussianConditional

from ..nn.layers import nonpersistent_buffers
from .common import get_scale_table


class LaplaceConditional(GaussianConditional):
    """Conditional Laplace latents, ``Laplace(mu, sigma)`` per element, coded with scale-indexed CDFs."""

    def __init__(self, scale_table=None, **kwargs):
        if scale_table is None:
            scale_table = get_scale_table().tolist()  # compressai wants a list
        super().__init__(scale_table, **kwargs)
        nonpersistent_buffers(self)

    def _standardized_cumulative(self, inputs: torch.Tensor) -> torch.Tensor:
        # Laplace(0, 1) CDF, written to stay finite: 0.5 exp(x) for x < 0, 1 - 0.5 exp(-x) otherwise.
        return 0.5 - 0.5 * torch.sign(inputs) * torch.expm1(-inputs.abs())

    @staticmethod
    def _standardized_quantile(quantile: float) -> float:
        return math.log(2 * quantile) if quantile < 0.5 else -math.log(2 * (1 - quantile))

    def likelihood(self, x: torch.Tensor, scales: torch.Tensor, means: torch.Tensor | None = None):
        p = self._likelihood(x, scales, means)
        return self.likelihood_lower_bound(p) if self.use_likelihood_bound else p

    def update(self, force: bool = False) -> bool:  # the scale table is fixed; build the CDFs once
        if self._offset.numel() > 0 and not force:
            return False
        super().update()
        return True
