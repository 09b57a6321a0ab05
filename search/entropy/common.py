"""What every entropy model here shares: quantisation, bits of likelihoods, CompressAI's scale table.

Training noise: ``x + U(-0.5, 0.5)``. Outside a :func:`sample_noise` block it comes from torch's global
generator. Inside one (the training steps of :mod:`search.training` and :mod:`search.stage2`) each
sample of the batch draws its own noise from a generator seeded for that sample, so a sample's noise
is the same whichever process of a distributed run holds it, whatever the batch is split into, and
after a resume on any device.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Iterator, Sequence

import torch

_REDUCED = (torch.float16, torch.bfloat16)


class SampleNoise:
    """Uniform noise per sample: item ``i`` of every quantised batch draws from generator ``i``, seeded
    with ``seeds[i]``, in the order the codec quantises (the same order on every process)."""

    def __init__(self, seeds: Sequence[int]):
        self.seeds = [int(s) for s in seeds]
        self._generators: dict[torch.device, list[torch.Generator]] = {}

    def _for(self, device: torch.device) -> list[torch.Generator]:
        generators = self._generators.get(device)
        if generators is None:
            generators = [torch.Generator(device=device).manual_seed(s) for s in self.seeds]
            self._generators[device] = generators
        return generators

    def uniform(self, like: torch.Tensor) -> torch.Tensor:
        """``U(-0.5, 0.5)`` of ``like``'s shape, dtype and device, one generator per batch item."""
        if like.dim() == 0 or like.shape[0] != len(self.seeds):
            raise RuntimeError(f"quantising a tensor of shape {list(like.shape)} inside sample_noise for "
                               f"{len(self.seeds)} samples: the first dimension must be the batch")
        generators = self._for(like.device)
        noise = [torch.rand(like.shape[1:], generator=g, device=like.device, dtype=like.dtype)
                 for g in generators]
        return torch.stack(noise) - 0.5


_active: SampleNoise | None = None


@contextmanager
def sample_noise(seeds: Sequence[int]) -> Iterator[SampleNoise]:
    """Within the block, training quantisation draws per-sample noise (see the module docstring)."""
    global _active
    previous, _active = _active, SampleNoise(seeds)
    try:
        yield _active
    finally:
        _active = previous


def quantize(x: torch.Tensor, training: bool) -> torch.Tensor:
    """Additive uniform noise U(-0.5, 0.5) in training, rounding in evaluation (Balle et al.).

    A half-precision input (a convolution's output under autocast) is quantised in fp32: the latent,
    its noise and the likelihoods computed from it stay fp32 whatever the convolutions run in.
    """
    if x.dtype in _REDUCED:
        x = x.float()
    if training:
        noise = _active.uniform(x) if _active is not None else torch.empty_like(x).uniform_(-0.5, 0.5)
        return x + noise
    return torch.round(x)


def bits(likelihoods: torch.Tensor) -> torch.Tensor:
    return -torch.log2(likelihoods).sum()


def get_scale_table(minimum: float = 0.11, maximum: float = 256, levels: int = 64) -> torch.Tensor:
    """CompressAI's log-spaced scale table."""
    return torch.exp(torch.linspace(math.log(minimum), math.log(maximum), levels))
