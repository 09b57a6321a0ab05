"""A test sequence, its frames and the reader interface every source implements."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import torch


@dataclass
class Frame:
    """One frame: RGB ``[1, 3, H, W]`` in [0, 1] and, for YUV sources, the planes it came from
    (``[1, 1, H, W]`` and ``[1, 1, H/2, W/2]`` in [0, 1])."""

    rgb: torch.Tensor
    yuv: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None


@dataclass
class TestSequence:
    """A test sequence: where it is, its size and class, and a lazy reader of its frames."""

    name: str
    group: str
    path: Path
    width: int
    height: int
    length: int
    reader: "Reader" = field(repr=False)
    fps: float | None = None
    bitdepth: int = 8

    def frames(self, start: int = 0, count: int | None = None) -> Iterator[Frame]:
        """Frames ``start ..`` (``count`` of them, or to the end), read one at a time."""
        stop = self.length if count is None else min(self.length, start + count)
        return self.reader.frames(start, stop)


class Reader:
    """Frames ``start .. stop - 1`` of one source, one at a time."""

    def frames(self, start: int, stop: int) -> Iterator[Frame]:  # pragma: no cover - interface
        raise NotImplementedError


class _Offset(Reader):
    def __init__(self, reader: Reader, first: int):
        self.reader, self.first = reader, first

    def frames(self, start: int, stop: int) -> Iterator[Frame]:
        return self.reader.frames(start + self.first, stop + self.first)


def _rgb_tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(array)).permute(2, 0, 1)[None].float().div_(255.0)
