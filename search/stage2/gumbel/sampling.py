"""Gumbel-softmax with the straight-through trick, and the temperature schedule (supplementary, B).

Forward: ``a_hat = onehot(argmax_j (x_j + G_j))`` with ``G_j = -log(-log U_j)``, ``U_j ~ U(0, 1)``.
Backward: the relaxation ``softmax((x + G) / tau)`` (Jang et al. 2017; Maddison et al. 2017).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ...errors import BadInput


def gumbel_noise(shape: torch.Size, generator: torch.Generator | None = None,
                 dtype: torch.dtype = torch.float32) -> torch.Tensor:
    u = torch.rand(shape, generator=generator, dtype=dtype).clamp_(1e-10, 1 - 1e-10)
    return -torch.log(-torch.log(u))


def gumbel_softmax_st(logits: torch.Tensor, tau: float, generator: torch.Generator | None = None,
                      noise: bool = True) -> torch.Tensor:
    """One-hot over the last dim in the forward pass, softmax((x + G)/tau) gradients backward.

    ``noise=False`` (evaluation) gives the plain argmax, still one-hot.
    """
    perturbed = logits + gumbel_noise(logits.shape, generator, logits.dtype).to(logits.device) \
        if noise else logits
    soft = F.softmax(perturbed / tau, dim=-1)
    hard = F.one_hot(perturbed.argmax(dim=-1), logits.shape[-1]).to(soft.dtype)
    return hard - soft.detach() + soft


@dataclass(frozen=True)
class TauSchedule:
    """``tau`` from ``start`` (3 in the paper) towards ``floor`` over ``steps``: linear or exponential.

    The paper anneals "from three to zero"; zero is not a temperature, so the schedule stops at a
    positive floor.
    """

    steps: int
    start: float = 3.0
    floor: float = 0.1
    kind: str = "exponential"

    def __post_init__(self):
        if self.floor <= 0:
            raise BadInput(f"tau_floor={self.floor:g}: must be > 0 (softmax(x / tau) needs tau > 0)")
        if self.start < self.floor:
            raise BadInput(f"tau_start={self.start:g} is below tau_floor={self.floor:g}")
        if self.kind not in ("linear", "exponential"):
            raise BadInput(f"tau_schedule={self.kind!r}: expected linear or exponential")

    def __call__(self, step: int) -> float:
        progress = min(max(step / max(self.steps - 1, 1), 0.0), 1.0)
        if self.kind == "linear":
            return self.start + (self.floor - self.start) * progress
        return self.start * math.exp(math.log(self.floor / self.start) * progress)
