"""Training samples: seeded random crops of consecutive frames, and a seeded DataLoader."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ..errors import BadInput
from .clips import Clips, as_clips
from .frames import size_pair, frames_to_tensor


class TrainPairs(Dataset):
    """Random training crops: ``gop`` consecutive frames (2 = (reference, current)) of one clip,
    the same random ``crop`` window and flips on all of them, as float ``[gop, 3, h, w]`` in [0, 1].

    A sample's randomness comes from ``numpy.random.default_rng((seed, 0, index))`` only, so the
    same seed gives the same samples in any order, any worker and any process. GOP start positions are
    uniform over all the clips' frames (longer clips are drawn more often). ``len`` is
    ``samples_per_epoch``.

    ``clips``: a frame source: :class:`Clips` (decoded or cached in memory), or
    :class:`~search.data.Septuplets` (Vimeo-90k, each sample's frames read from disk when drawn).

    A clip smaller than the crop, or shorter than ``gop`` frames, is a :class:`BadInput`, or is
    left out with ``skip_small=True`` (an error only if none is left).
    """

    def __init__(self, clips: Clips | Any | str | Path, crop: int | Sequence[int] = 128, gop: int = 2, *,
                 samples_per_epoch: int = 1000, seed: int = 0, hflip: bool = True,
                 vflip: bool = True, skip_small: bool = False):
        self.clips = as_clips(clips)
        self.crop = size_pair(crop, "crop")
        if gop < 1:
            raise BadInput(f"gop must be >= 1, got {gop}")
        if samples_per_epoch < 1:
            raise BadInput(f"samples_per_epoch must be >= 1, got {samples_per_epoch}")
        self.gop, self.samples_per_epoch, self.seed = int(gop), int(samples_per_epoch), int(seed)
        self.hflip, self.vflip = hflip, vflip
        ch, cw = self.crop
        usable, problems = [], []
        for i in range(len(self.clips)):
            t, h, w = self.clips.shape(i)
            if h < ch or w < cw:
                problems.append(f"{self.clips.path(i)}: frames are {h}x{w} (HxW), smaller than the "
                                f"training crop {ch}x{cw}; use a smaller crop or other data")
            elif t < self.gop:
                problems.append(f"{self.clips.path(i)}: {t} frames, but a training GOP needs {self.gop} "
                                "consecutive frames")
            else:
                usable.append(i)
        if problems and not skip_small:
            raise BadInput(problems[0])
        if not usable:
            raise BadInput(problems[0] if problems else "no clips to train on")
        # arrays, not lists: DataLoader workers then share them rather than copying them as they read
        self.usable = np.array(usable, dtype=np.int64)
        starts = np.array([self.clips.shape(i)[0] - self.gop + 1 for i in usable], dtype=np.int64)
        self._cum = np.cumsum(starts)

    def __len__(self) -> int:
        return self.samples_per_epoch

    def locate(self, index: int) -> dict:
        """Where sample ``index`` comes from: clip, start frame, crop corner, flips (all from the seed)."""
        rng = np.random.default_rng((self.seed, 0, int(index)))
        k = int(rng.integers(self._cum[-1]))
        j = int(np.searchsorted(self._cum, k, side="right"))
        start = k - (int(self._cum[j - 1]) if j else 0)
        ci = int(self.usable[j])
        _, h, w = self.clips.shape(ci)
        ch, cw = self.crop
        y = int(rng.integers(h - ch + 1))
        x = int(rng.integers(w - cw + 1))
        flips = rng.random(2) < 0.5
        return {"clip": ci, "start": start, "y": y, "x": x,
                "hflip": bool(flips[0] and self.hflip), "vflip": bool(flips[1] and self.vflip)}

    def __getitem__(self, index: int) -> torch.Tensor:
        if not 0 <= index < self.samples_per_epoch:
            raise IndexError(index)
        loc = self.locate(index)
        ch, cw = self.crop
        frames = self.clips.frames(loc["clip"], loc["start"], self.gop)
        arr = frames[:, loc["y"]:loc["y"] + ch, loc["x"]:loc["x"] + cw]
        if loc["hflip"]:
            arr = arr[:, :, ::-1]
        if loc["vflip"]:
            arr = arr[:, ::-1]
        return frames_to_tensor(arr)


def make_loader(dataset: Dataset, batch_size: int, seed: int = 0, workers: int = 0, *,
                shuffle: bool = True, drop_last: bool = True, pin_memory: bool = False) -> DataLoader:
    """A DataLoader whose shuffling comes from a ``torch.Generator`` seeded with ``seed``.

    (:class:`TrainPairs` samples are already random and seeded; shuffling only changes batch order.)
    """
    if batch_size < 1:
        raise BadInput(f"batch_size must be >= 1, got {batch_size}")
    if workers < 0:
        raise BadInput(f"workers must be >= 0, got {workers}")
    gen = torch.Generator()
    gen.manual_seed(int(seed))
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last,
                      num_workers=workers, generator=gen, pin_memory=pin_memory,
                      persistent_workers=workers > 0)
