"""Folders of PNG frames (``im00001.png`` .., ``im1.png`` .., any names sorted numerically)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

from ...errors import BadInput
from .classes import sequence_class
from .sequence import Frame, Reader, TestSequence, _rgb_tensor


def png_files(folder: Path) -> list[Path]:
    """The PNG frames of a folder in numeric order (``im00001.png``, ``im1.png``, ``frame_12.png``)."""
    files = [p for p in folder.iterdir() if p.suffix.lower() == ".png" and p.is_file()]

    def number(p: Path) -> tuple[int, str]:
        digits = re.findall(r"\d+", p.stem)
        return (int(digits[-1]) if digits else -1, p.name)
    return sorted(files, key=number)


class PngReader(Reader):
    def __init__(self, files: list[Path]):
        self.files = files

    def frames(self, start: int, stop: int) -> Iterator[Frame]:
        from ..vimeo import read_png

        for path in self.files[start:stop]:
            yield Frame(_rgb_tensor(read_png(path)))


def open_png_folder(folder: Path, group: str = "") -> TestSequence:
    from ..vimeo import png_size

    files = png_files(folder)
    if not files:
        raise BadInput(f"{folder}: no PNG frames (expected im00001.png, im00002.png, ...)")
    height, width = png_size(files[0])
    return TestSequence(folder.name, sequence_class(folder.name, height, group), folder, width, height,
                        len(files), PngReader(files))
