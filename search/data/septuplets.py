"""The Vimeo-90k septuplet set at its full scale: list files read once, frames read per sample.

Layout (Xue et al., *Video Enhancement with Task-Oriented Flow*, IJCV 2019; ``vimeo_septuplet.zip``)::

    <root>/sep_trainlist.txt     one sequence per line: 00001/0001
    <root>/sep_testlist.txt
    <root>/sequences/00001/0001/im1.png .. im7.png     (448x256 RGB)

CompressAI's classes do not fit training here: ``Vimeo90kDataset`` yields single images and
``VideoFolder`` wants its own list file, three frames, and draws from the unseeded ``random`` module.
:class:`Septuplets` reads the list files itself and hands :class:`~search.data.TrainPairs` the frames
a sample needs, read from disk when it is drawn: nothing of the set is kept in memory but its sequence
names (one contiguous byte array, so DataLoader workers share it instead of copying it piecemeal).
Every sequence is taken to have the first one's frame size (as in Vimeo-90k); a frame of another size,
or a missing one, is a :class:`~search.errors.BadInput` naming the file when a sample reads it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import BadInput
from .clips import Clips
from .vimeo import list_file, listed_sequences, png_size, read_png

SPLITS = ("train", "test")
FRAMES = 7


def is_septuplet_set(spec: str | Path) -> bool:
    """Whether ``spec`` is a folder with a Vimeo-90k training list (``sep_trainlist.txt``)."""
    return isinstance(spec, (str, Path)) and list_file(Path(spec).expanduser()).is_file()


class Septuplets:
    """The sequences of one split of a Vimeo-90k septuplet folder, as a frame source for
    :class:`~search.data.TrainPairs`: ``len``, ``shape(i)``, ``name(i)``, ``path(i)`` and
    ``frames(i, start, count)``, which reads ``count`` frames of sequence ``i`` from ``start``."""

    def __init__(self, root: str | Path, split: str = "train"):
        if split not in SPLITS:
            raise BadInput(f"split={split!r}: expected one of {', '.join(SPLITS)}")
        self.root = Path(root).expanduser()
        self.split = split
        self._names = np.array([n.encode() for n in listed_sequences(self.root, split)])
        self.height, self.width = png_size(self._frame_path(0, 0))

    def __len__(self) -> int:
        return len(self._names)

    def name(self, i: int) -> str:
        return self._names[i].decode()

    def path(self, i: int) -> Path:
        return self.root / "sequences" / self.name(i)

    @property
    def names(self) -> list[str]:
        return [n.decode() for n in self._names]

    def shape(self, i: int) -> tuple[int, int, int]:
        """``(7, height, width)``: every septuplet has the first one's size."""
        return FRAMES, self.height, self.width

    def _frame_path(self, i: int, frame: int) -> Path:
        path = self.path(i) / f"im{frame + 1}.png"
        if not path.is_file():
            raise BadInput(f"{path}: missing (the list {list_file(self.root, self.split).name} names "
                           f"{self.name(i)}, a septuplet im1.png .. im7.png)")
        return path

    def frames(self, i: int, start: int, count: int) -> np.ndarray:
        """``uint8 [count, H, W, 3]``: frames ``start .. start + count - 1`` of sequence ``i``."""
        out = []
        for frame in range(start, start + count):
            path = self._frame_path(i, frame)
            arr = read_png(path)
            if arr.shape[:2] != (self.height, self.width):
                raise BadInput(f"{path}: is {arr.shape[0]}x{arr.shape[1]}, the set's first frame is "
                               f"{self.height}x{self.width} (expected one size, as in Vimeo-90k)")
            out.append(arr)
        return np.stack(out)

    def __repr__(self) -> str:
        return f"Septuplets({str(self.root)!r}, {self.split}, {len(self)} sequences)"


def training_frames(spec: str | Path) -> Clips | Septuplets:
    """What a run trains on: a Vimeo-90k septuplet folder (it has ``sep_trainlist.txt``) as
    :class:`Septuplets` of its training list, read per sample; anything else as :class:`Clips`
    (``default``, a folder of videos or of sequences, a video file), decoded and kept in memory."""
    if is_septuplet_set(spec):
        return Septuplets(Path(spec).expanduser(), "train")
    return Clips(spec)
