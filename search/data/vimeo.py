"""Folders of frame sequences in the Vimeo-90k septuplet layout (``sequences/<a>/<b>/im1.png ..``)."""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from ..errors import BadInput
from .video import one_line

_IM_RE = re.compile(r"^im(\d+)\.png$", re.IGNORECASE)


def _im_files(folder: Path) -> list[tuple[int, Path]]:
    """``(number, path)`` of the ``im<N>.png`` files in ``folder``, sorted by number."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    out = []
    for name in names:
        m = _IM_RE.match(name)
        if m:
            out.append((int(m.group(1)), folder / name))
    out.sort()
    return out


def find_sequences(path: Path | str) -> list[Path]:
    """The sequence folders of a Vimeo-90k-style tree, sorted; ``[]`` when there are none.

    Looks at ``path/sequences/<a>/<b>/``, then ``path/<a>/<b>/``, then ``path/<a>/``, then ``path``
    itself, for folders holding ``im<N>.png`` files; the first level that has any wins.
    """
    path = Path(path)
    if not path.is_dir():
        return []
    root = path / "sequences" if (path / "sequences").is_dir() else path
    for pattern in ("*/*", "*"):
        seqs = [d for d in sorted(root.glob(pattern)) if d.is_dir() and _im_files(d)]
        if seqs:
            return seqs
    return [root] if _im_files(root) else []


def sequence_files(folder: Path) -> list[Path]:
    """The ``im<N>.png`` files of one sequence folder; gaps in the numbering are an error."""
    files = _im_files(folder)
    if not files:
        raise BadInput(f"{folder}: no im1.png .. imN.png frames (expected a Vimeo-90k sequence folder)")
    numbers = [n for n, _ in files]
    expected = list(range(numbers[0], numbers[0] + len(numbers)))
    if numbers != expected:
        missing = sorted(set(range(numbers[0], numbers[-1] + 1)) - set(numbers))
        raise BadInput(f"{folder / f'im{missing[0]}.png'}: missing (expected consecutive frames "
                       f"im{numbers[0]}.png .. im{numbers[-1]}.png)")
    return [p for _, p in files]


def read_png(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise BadInput(f"{path}: no such file (expected a PNG frame)")
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
        raise BadInput(f"{path}: cannot be read as an image ({one_line(err)}); expected a PNG frame") \
            from None


def png_size(path: Path) -> tuple[int, int]:
    """``(height, width)`` from the header only."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            w, h = im.size
            return h, w
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
        raise BadInput(f"{path}: cannot be read as an image ({one_line(err)}); expected a PNG frame") \
            from None


def read_sequence(folder: Path | str, max_frames: int | None = None, stride: int = 1) -> np.ndarray:
    """Read one Vimeo-90k sequence folder (``im1.png .. imN.png``, numeric order): ``uint8 [T, H, W, 3]``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BadInput(f"{folder}: no such folder (expected a sequence folder with im1.png ..)")
    files = sequence_files(folder)[::stride]
    if max_frames is not None:
        files = files[:max_frames]
    return read_frames(files)


def read_frames(files: list[Path]) -> np.ndarray:
    """PNG frames of one size: ``uint8 [T, H, W, 3]``."""
    frames = []
    for p in files:
        arr = read_png(p)
        if frames and arr.shape != frames[0].shape:
            raise BadInput(f"{p}: is {arr.shape[0]}x{arr.shape[1]} but {files[0].name} is "
                           f"{frames[0].shape[0]}x{frames[0].shape[1]} (expected one size per sequence)")
        frames.append(arr)
    return np.stack(frames)


def list_file(root: Path | str, split: str = "train") -> Path:
    """A Vimeo-90k septuplet folder's list of ``split`` (``sep_trainlist.txt``, ``sep_testlist.txt``)."""
    return Path(root) / f"sep_{split}list.txt"


def listed_sequences(root: Path | str, split: str = "train") -> list[str]:
    """The sequence names (``00001/0001``) a septuplet folder's list file gives for ``split``."""
    listed = list_file(root, split)
    if not listed.is_file():
        raise BadInput(f"{listed}: no such file (expected a Vimeo-90k septuplet folder holding "
                       f"sep_{split}list.txt and sequences/)")
    names = [line.strip() for line in listed.read_text().splitlines() if line.strip()]
    if not names:
        raise BadInput(f"{listed}: lists no sequences (expected lines like 00001/0001)")
    return names


def sequence_names(path: Path, seqs: list[Path]) -> list[str]:
    root = path / "sequences" if (path / "sequences").is_dir() else path
    out = []
    for s in seqs:
        rel = s.relative_to(root).as_posix() if s != root else s.name
        out.append(rel or s.name)
    return out
