"""A switchable factorized prior: one :class:`~search.entropy.BitEstimator` per latent width.

SlimCAE (Yang et al., *Slimmable Compressive Autoencoders for Practical Neural Image Compression*,
section 3.3) gives every sub-CAE its own entropy model ("switchable entropy models": each width ``k``
has its own parameters ``nu^(k)``, negligible in size beside the transforms). Built at full width this
module holds a model for every width of the latent's options (keys ``<width>.f1.h`` ...); built at a
layout, only the model of that layout's width, so :func:`search.nn.layers.load_sliced` copies it by key.

Under channel masks (the supernet) the latent's rate is the masked mixture of the widths' rates:
``likelihoods = prod_k p_k ** a_k``, with ``p_k`` the likelihoods of the leading ``w_k`` channels under
width ``k``'s model and 1 beyond them, so ``-log2`` of it is ``sum_k a_k * bits_k`` and, with one-hot
weights, exactly the chosen width's likelihoods (1, i.e. 0 bits, on the masked channels).
"""
from __future__ import annotations

from typing import Iterable

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..nn.widths import Width, Widths
from .factorized import BitEstimator


class SwitchableBitEstimator(nn.Module):
    """One factorized prior per width of the latent ``width`` (its layer's ``options``)."""

    def __init__(self, ctx: Widths, width: Width, options: Iterable[int]):
        super().__init__()
        options = sorted(set(int(o) for o in options) | {width.full})
        if width.now not in options:
            raise ValueError(f"{width.key}: switchable entropy model has no model for width "
                             f"{width.now}; it has {options}")
        kept = options if width.now == width.full else [width.now]
        self.models = nn.ModuleDict({str(c): BitEstimator(c) for c in kept})
        self.ctx, self.width = ctx, width

    @property
    def current(self) -> BitEstimator:
        """The model of the width this module was built at (what compress/decompress use)."""
        return self.models[str(self.width.now)]

    def likelihood(self, y_hat: torch.Tensor) -> torch.Tensor:
        """Likelihoods of the quantised latent (see the module docstring for masks)."""
        entry = self.ctx.mix.weights(self.width.key) if self.width.key else None
        if entry is None:
            return self.current.likelihood(y_hat)
        weights, widths = entry
        out = torch.ones_like(y_hat)
        for a, w in zip(weights.to(y_hat.dtype), widths):
            p = self.models[str(w)].likelihood(y_hat[:, :w])
            p = F.pad(p, (0, 0, 0, 0, 0, y_hat.shape[1] - w), value=1.0)
            out = out * p ** a
        return out
