"""Evaluation: whole frames of every clip, GOP by GOP."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import BadInput
from .clips import Clips, as_clips
from .frames import frames_to_tensor


@dataclass
class EvalGop:
    """One evaluation GOP: ``frames[0]`` is the reference (not coded), ``frames[1:]`` are coded."""

    name: str          # the clip's name
    index: int         # GOP number within the clip
    start: int         # first frame's number within the clip
    frames: torch.Tensor  # float [n, 3, H, W] in [0, 1], 2 <= n <= gop_size, unpadded


class EvalSequences:
    """Whole frames of every clip, GOP by GOP, for evaluation.

    Iterating gives :class:`EvalGop` s: frames ``[k*gop_size, (k+1)*gop_size)`` of each clip (the
    last GOP may be shorter; a last GOP of a single frame has nothing to code and is left out).
    ``max_gops`` caps the GOPs per clip. Frames are not padded: use :func:`pad_to_multiple` and
    :func:`crop_back` around the codec. :meth:`sequences` gives each clip's frames whole.
    """

    def __init__(self, clips: Clips | str | Path, gop_size: int = 12, max_gops: int | None = None):
        self.clips = as_clips(clips)
        if gop_size < 2:
            raise BadInput(f"gop_size must be >= 2 (a reference and a coded frame), got {gop_size}")
        if max_gops is not None and max_gops < 1:
            raise BadInput(f"max_gops must be >= 1 or None, got {max_gops}")
        self.gop_size, self.max_gops = int(gop_size), max_gops
        for i in range(len(self.clips)):
            if self.clips.shape(i)[0] < 2:
                raise BadInput(f"{self.clips.path(i)}: {self.clips.shape(i)[0]} frame, evaluation needs "
                               "at least 2 (a reference and a coded frame)")

    def _starts(self, t: int) -> list[int]:
        starts = [s for s in range(0, t, self.gop_size) if t - s >= 2]
        return starts[:self.max_gops] if self.max_gops is not None else starts

    def __len__(self) -> int:
        return sum(len(self._starts(self.clips.shape(i)[0])) for i in range(len(self.clips)))

    def __iter__(self) -> Iterator[EvalGop]:
        for i in range(len(self.clips)):
            arr = self.clips[i]
            for k, s in enumerate(self._starts(arr.shape[0])):
                yield EvalGop(self.clips.name(i), k, s, frames_to_tensor(arr[s:s + self.gop_size]))

    def sequences(self) -> Iterator[tuple[str, torch.Tensor]]:
        """``(name, float [T, 3, H, W])`` for each clip."""
        for i in range(len(self.clips)):
            yield self.clips.name(i), frames_to_tensor(self.clips[i])
