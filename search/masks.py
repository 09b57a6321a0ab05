"""Channel masks of a full-width model: the supernet's way to run any layout in one forward pass."""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from .widths import Width


class Mix:
    """Run-time channel masks of a full-width model: per layer key, weights over candidate widths."""

    def __init__(self) -> None:
        self.choices: dict[str, tuple[torch.Tensor, tuple[int, ...]]] | None = None
        self._steps: dict[tuple[int, tuple[int, ...], str], torch.Tensor] = {}

    def set(self, choices: dict[str, tuple[torch.Tensor, tuple[int, ...]]] | None) -> None:
        self.choices = choices

    def weights(self, key: str) -> tuple[torch.Tensor, tuple[int, ...]] | None:
        if self.choices is None:
            return None
        return self.choices.get(key)

    def mask(self, width: "Width", like: torch.Tensor) -> torch.Tensor | None:
        """The [full] channel mask of ``width`` (None: no masking), repeated for multiples."""
        if self.choices is None or not width.terms:
            return None
        if len(width.terms) != 1 or width.const:
            raise ValueError(f"cannot mask an output of width {width}: one layer key expected")
        key, mult = width.terms[0]
        entry = self.choices.get(key)
        if entry is None:
            return None
        weights, options = entry
        full = width.full // mult
        steps = self._step_matrix(full, options, like)
        mask = weights.to(like.dtype) @ steps
        return mask.repeat_interleave(mult) if mult > 1 else mask

    def _step_matrix(self, full: int, options: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
        cache_key = (full, options, str(like.device))
        steps = self._steps.get(cache_key)
        if steps is None:
            channel = torch.arange(full, device=like.device)
            steps = torch.stack([(channel < w).to(like.dtype) for w in options])
            self._steps[cache_key] = steps
        return steps


def apply_mask(y: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    return y if mask is None else y * mask.view(1, -1, 1, 1)
