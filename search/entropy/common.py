"""What every entropy model here shares: quantisation, bits of likelihoods, CompressAI's scale table."""
from __future__ import annotations

import math

import torch


def quantize(x: torch.Tensor, training: bool) -> torch.Tensor:
    """Additive uniform noise U(-0.5, 0.5) in training, rounding in evaluation (Balle et al.)."""
    if training:
        return x + torch.empty_like(x).uniform_(-0.5, 0.5)
    return torch.round(x)


def bits(likelihoods: torch.Tensor) -> torch.Tensor:
    return -torch.log2(likelihoods).sum()


def get_scale_table(minimum: float = 0.11, maximum: float = 256, levels: int = 64) -> torch.Tensor:
    """CompressAI's log-spaced scale table."""
    return torch.exp(torch.linspace(math.log(minimum), math.log(maximum), levels))
