"""Frames as tensors: ``uint8 [..., H, W, 3]`` to float ``[..., 3, H, W]``, padding and cropping back."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import BadInput


def frames_to_tensor(frames: np.ndarray) -> torch.Tensor:
    """``uint8 [..., H, W, 3]`` -> float ``[..., 3, H, W]`` in ``[0, 1]``."""
    t = torch.from_numpy(np.ascontiguousarray(frames))
    return t.movedim(-1, -3).float().div_(255.0).contiguous()


def size_pair(value: int | Sequence[int], what: str) -> tuple[int, int]:
    if isinstance(value, (int, np.integer)):
        a = b = int(value)
    else:
        vals = tuple(int(v) for v in value)
        if len(vals) != 2:
            raise BadInput(f"{what} must be an int or (height, width), got {value!r}")
        a, b = vals
    if a < 1 or b < 1:
        raise BadInput(f"{what} must be >= 1, got {value!r}")
    return a, b


def pad_to_multiple(x: torch.Tensor, multiple: int | Sequence[int]) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad the last two dims (H, W) of ``x`` on the right and bottom, replicating the edge pixels,
    up to multiples of ``multiple`` (an int, or ``(mh, mw)``).

    Returns ``(padded, (h, w))``, the original size, for :func:`crop_back`. Any leading dims.
    """
    mh, mw = size_pair(multiple, "pad multiple")
    if x.dim() < 2:
        raise BadInput(f"pad_to_multiple needs a tensor [..., H, W], got shape {list(x.shape)}")
    h, w = x.shape[-2:]
    ph, pw = (-h) % mh, (-w) % mw
    if ph == 0 and pw == 0:
        return x, (h, w)
    if h == 0 or w == 0:
        raise BadInput(f"cannot pad an empty frame {h}x{w}")
    lead = x.shape[:-2]
    flat = x.reshape(1, -1, h, w)
    if not flat.is_floating_point():
        padded = F.pad(flat.float(), (0, pw, 0, ph), mode="replicate").to(x.dtype)
    else:
        padded = F.pad(flat, (0, pw, 0, ph), mode="replicate")
    return padded.reshape(*lead, h + ph, w + pw), (h, w)


def crop_back(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Undo :func:`pad_to_multiple`: keep the top-left ``(h, w)`` of the last two dims."""
    h, w = size
    if h > x.shape[-2] or w > x.shape[-1]:
        raise BadInput(f"crop_back: {h}x{w} is larger than the tensor's {x.shape[-2]}x{x.shape[-1]}")
    return x[..., :h, :w]
