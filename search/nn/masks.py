"""Channel masks of a full-width model: the supernet's way to run any layout in one forward pass.

A mask over a layer's ``full`` channels is ``sum_k a_k * [c < w_k]`` over its width options ``w_k``
with mixing weights ``a_k`` (one-hot forward; Gumbel-softmax relaxed backward in stage 2).
"""
from __future__ import annotations

import torch


class Mix:
    """Run-time channel masks of a full-width model: per layer key, weights over candidate widths."""

    def __init__(self) -> None:
        self.choices: dict[str, tuple[torch.Tensor, tuple[int, ...]]] | None = None
        self._steps: dict[tuple[int, tuple[int, ...], str, torch.dtype], torch.Tensor] = {}

    def set(self, choices: dict[str, tuple[torch.Tensor, tuple[int, ...]]] | None) -> None:
        self.choices = choices

    def weights(self, key: str) -> tuple[torch.Tensor, tuple[int, ...]] | None:
        if self.choices is None:
            return None
        return self.choices.get(key)

    def mask(self, key: str, mult: int, full: int, like: torch.Tensor) -> torch.Tensor | None:
        """The [mult * full] channel mask of layer ``key`` (None: not masked), each channel of the
        layer repeated ``mult`` times (an interleaved output of ``mult * width`` channels)."""
        entry = self.weights(key)
        if entry is None:
            return None
        weights, options = entry
        mask = weights.to(device=like.device, dtype=like.dtype) @ self._step_matrix(full, options, like)
        return mask.repeat_interleave(mult) if mult > 1 else mask

    def _step_matrix(self, full: int, options: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
        cache_key = (full, options, str(like.device), like.dtype)
        steps = self._steps.get(cache_key)
        if steps is None:
            channel = torch.arange(full, device=like.device)
            steps = torch.stack([(channel < w).to(like.dtype) for w in options])
            self._steps[cache_key] = steps
        return steps


def apply_mask(y: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    return y if mask is None else y * mask.view(1, -1, 1, 1)
