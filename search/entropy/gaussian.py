"""A Gaussian conditional that codes ``round(x)`` (not ``round(x - mu) + mu``) under ``N(mu, sigma)``.

FVC's ``NIPS18nocEntropyCoder`` rounds the latent itself in evaluation and rates it under a Gaussian
with a predicted mean: ``p(q) = Phi((q + 0.5 - mu) / sigma) - Phi((q - 0.5 - mu) / sigma)``.
CompressAI's :class:`~compressai.entropy_models.GaussianConditional` codes ``round(x - mu)`` with zero-mean
CDFs, which changes the quantised latent (it becomes ``round(x - mu) + mu``). To keep the public
codec's quantisation and still code with CompressAI's rANS coder, this class codes the integer
``q - round(mu)`` with a CDF of ``N(mu - round(mu), sigma)``: its tables are indexed by the scale (the
usual log-spaced scale table) *and* by the fractional mean offset ``mu - round(mu)`` in ``[-0.5, 0.5]``,
quantised to ``OFFSETS`` levels. The only mismatches between the likelihood and the real code length
are that offset grid (step 0.1 by default) and the scale table's grid, as in CompressAI.

Only FVC uses it (a building block of ``codecs/fvc.py``); :func:`search.entropy.update_all` builds its
tables through ``update_scale_table`` like any ``GaussianConditional``.
"""
from __future__ import annotations

import torch
from compressai.entropy_models import GaussianConditional

from ..nn.layers import nonpersistent_buffers
from .common import get_scale_table, quantize


class MeanGaussianConditional(GaussianConditional):
    """``N(mu, sigma)`` latents, quantised by plain rounding (noise in training), coded exactly.

    The tables depend only on the scale table, the offset grid, the tail mass and the coder precision,
    not on weights: they are built once per process for each such setting and shared (as tensors, and
    as the ragged lists the rANS coder takes, so coding does not convert a padded table every call).
    """

    _tables: dict = {}

    def __init__(self, offsets: int = 11, scale_table=None, **kwargs):
        if scale_table is None:
            scale_table = get_scale_table().tolist()
        super().__init__(scale_table, **kwargs)
        if offsets < 2:
            raise ValueError("offsets: at least 2 levels (the ends -0.5 and 0.5)")
        self.offsets = int(offsets)
        nonpersistent_buffers(self)  # the public checkpoints have no coder tables

    def forward(self, x: torch.Tensor, scales: torch.Tensor, means: torch.Tensor,
                training: bool | None = None):
        """(quantised x, likelihoods): ``x + U(-0.5, 0.5)`` in training, ``round(x)`` otherwise."""
        q = quantize(x, self.training if training is None else training)
        return q, self.likelihood(q, scales, means)

    def likelihood(self, q: torch.Tensor, scales: torch.Tensor, means: torch.Tensor) -> torch.Tensor:
        p = self._likelihood(q, scales, means)
        return self.likelihood_lower_bound(p) if self.use_likelihood_bound else p

    # -- coder tables: one CDF per (scale, mean offset) --------------------------------------------

    def _offset_grid(self, device) -> torch.Tensor:
        return torch.linspace(-0.5, 0.5, self.offsets, device=device)

    def _table_key(self) -> tuple:
        return (tuple(self.scale_table.tolist()), self.offsets, self.tail_mass,
                self.entropy_coder_precision)

    @torch.no_grad()
    def update(self, force: bool = False) -> bool:
        """(Re)build the tables for the current scale table (taken from the shared cache if built)."""
        key = self._table_key()
        cached = self._tables.get(key)
        if cached is None:
            cached = self._build_tables()
            self._tables[key] = cached
        cdf, offset, length, _ = cached
        device = self.scale_table.device
        self._quantized_cdf, self._offset, self._cdf_length = (cdf.to(device), offset.to(device),
                                                               length.to(device))
        return True

    def _coder_lists(self) -> tuple[list, list, list]:
        cached = self._tables.get(self._table_key())
        if cached is None or self._offset.numel() == 0:
            raise ValueError("Uninitialized CDFs. Run update() first")
        return cached[3]

    def _build_tables(self):
        scales = self.scale_table.float().cpu()
        device = scales.device
        multiplier = -float(self._standardized_quantile(self.tail_mass / 2))
        centers = torch.ceil(scales * multiplier).int() + 1      # +1: the mean may sit 0.5 off zero
        n_off = self.offsets
        center = centers.repeat_interleave(n_off)                 # row r = scale r // K, offset r % K
        scale = scales.repeat_interleave(n_off).unsqueeze(1)
        delta = self._offset_grid(device).repeat(len(scales)).unsqueeze(1)
        lengths = 2 * center + 1
        max_length = int(lengths.max())
        k = torch.arange(max_length, device=device).unsqueeze(0) - center.unsqueeze(1)
        k = k.float()
        upper = self._standardized_cumulative((k + 0.5 - delta) / scale)
        lower = self._standardized_cumulative((k - 0.5 - delta) / scale)
        pmf = upper - lower
        # mass outside [-center, center], from both tails (each written as a lower tail for precision)
        c = center.float().unsqueeze(1)
        tails = (self._standardized_cumulative((-c - 0.5 - delta) / scale)
                 + self._standardized_cumulative((-c - 0.5 + delta) / scale))
        cdf = self._pmf_to_cdf(pmf, tails, lengths, max_length)
        cdf_length = (lengths + 2).int()
        lists = ([row[:n] for row, n in zip(cdf.tolist(), cdf_length.tolist())],
                 cdf_length.tolist(), (-center).int().tolist())
        return cdf, (-center).int(), cdf_length, lists

    def build_indexes(self, scales: torch.Tensor, means: torch.Tensor) -> torch.Tensor:
        """Table row of each element: scale index times ``offsets`` plus the mean-offset index."""
        scale_index = super().build_indexes(scales)
        delta = means - torch.round(means)
        offset_index = torch.round((delta + 0.5) * (self.offsets - 1)).clamp(0, self.offsets - 1)
        return scale_index * self.offsets + offset_index.int()

    def compress(self, q: torch.Tensor, scales: torch.Tensor, means: torch.Tensor) -> list[bytes]:
        """Code the rounded latent ``q`` (integers), one string per batch item: the symbol
        ``q - round(mu)`` under the CDF of ``N(mu - round(mu), sigma)``."""
        cdfs, lengths, offsets = self._coder_lists()
        symbols = (q - torch.round(means)).round().int().cpu()
        indexes = self.build_indexes(scales, means).cpu()
        return [self.entropy_coder.encode_with_indexes(symbols[i].reshape(-1).tolist(),
                                                       indexes[i].reshape(-1).tolist(),
                                                       cdfs, lengths, offsets)
                for i in range(q.shape[0])]

    def decompress(self, strings: list[bytes], scales: torch.Tensor,
                   means: torch.Tensor) -> torch.Tensor:
        """The rounded latent from :meth:`compress`'s strings and the same Gaussian parameters."""
        if len(strings) != scales.shape[0]:
            raise ValueError(f"{len(strings)} strings for a batch of {scales.shape[0]}")
        cdfs, lengths, offsets = self._coder_lists()
        indexes = self.build_indexes(scales, means).cpu()
        values = [torch.tensor(self.entropy_coder.decode_with_indexes(
            s, indexes[i].reshape(-1).tolist(), cdfs, lengths, offsets), dtype=torch.float32)
            for i, s in enumerate(strings)]
        symbols = torch.stack(values).reshape(scales.shape).to(means.device)
        return symbols + torch.round(means)


__all__ = ["MeanGaussianConditional"]
