"""Raw YUV 4:2:0 files, 8- or 10-bit, through CompressAI's ``RawVideoSequence``."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from ...errors import BadInput
from ..color import yuv420_to_rgb
from .classes import sequence_class
from .sequence import Frame, Reader, TestSequence

YUV_EXTENSIONS = (".yuv",)
_CHROMA_FORMATS = {"400", "420", "422", "444"}


def parse_yuv_name(name: str) -> dict[str, float | int]:
    """Size, frame rate and bit depth from a raw file's name: ``WxH``, the frame rate as ``50``,
    ``50fps`` or ``50Hz`` after the size, the bit depth as ``10bit`` (8 when the name does not say).

    Our own parser: CompressAI's ``get_raw_video_file_info`` fails on names without a chroma-format
    token (``BasketballDrive_1920x1080_50.yuv``) and does not read a bare ``_50`` as the frame rate.
    """
    out: dict[str, float | int] = {}
    size = re.search(r"(\d+)x(\d+)", name)
    if size:
        out["width"], out["height"] = int(size[1]), int(size[2])
    depth = re.search(r"(?:^|[_.-])(\d+)bits?(?=[_.-]|$)", name, re.IGNORECASE)
    out["bitdepth"] = int(depth[1]) if depth else 8
    rate = re.search(r"(?:^|[_.-])(\d+(?:\.\d+)?)(?:fps|hz)(?=[_.-]|$)", name, re.IGNORECASE)
    if not rate and size:
        rate = re.search(r"\d+x\d+_(\d+(?:\.\d+)?)(?=[_.-]|$)", name)
        rate = rate if rate and rate[1] not in _CHROMA_FORMATS else None
    if rate:
        out["fps"] = float(rate[1])
    return out


class YuvReader(Reader):
    """A raw YUV 4:2:0 file through CompressAI's ``RawVideoSequence`` (memory-mapped)."""

    def __init__(self, path: Path, width: int, height: int, bitdepth: int, matrix: str):
        from compressai.datasets import RawVideoSequence, VideoFormat, bitdepth_to_dtype

        self.matrix, self.bitdepth = matrix, bitdepth
        # the constructor, not from_file: from_file parses the name with CompressAI's parser
        mmap = np.memmap(path, dtype=bitdepth_to_dtype[bitdepth], mode="r")
        self.sequence = RawVideoSequence(mmap, width, height, bitdepth, VideoFormat.YUV420, None)

    def __len__(self) -> int:
        return len(self.sequence)

    def frames(self, start: int, stop: int) -> Iterator[Frame]:
        peak = 2 ** self.bitdepth - 1
        for index in range(start, stop):
            record = self.sequence[index]
            planes = tuple(torch.from_numpy(np.asarray(record[c], dtype=np.float32) / peak)[None, None]
                           for c in ("y", "u", "v"))
            yield Frame(yuv420_to_rgb(*planes, self.matrix, self.bitdepth), planes)


def open_yuv(path: Path, matrix: str, size: str = "", fps: float | None = None,
             bitdepth: int | None = None, folder: str = "") -> TestSequence:
    """A raw YUV 4:2:0 file; ``size``/``fps``/``bitdepth`` override what its name says."""
    info = parse_yuv_name(path.name)
    if size:
        match = re.fullmatch(r"(\d+)x(\d+)", size.strip())
        if not match:
            raise BadInput(f"size={size!r}: expected WIDTHxHEIGHT, e.g. 1920x1080")
        info["width"], info["height"] = int(match[1]), int(match[2])
    if "width" not in info:
        raise BadInput(f"{path}: the name gives no frame size (e.g. Name_1920x1080_50.yuv); give "
                       f"size=WIDTHxHEIGHT")
    depth = int(bitdepth or info["bitdepth"])
    if depth not in (8, 10, 12, 16):
        raise BadInput(f"bitdepth={depth}: expected 8, 10, 12 or 16")
    width, height = int(info["width"]), int(info["height"])
    frame_bytes = width * height * 3 // 2 * (1 if depth == 8 else 2)
    if path.stat().st_size < frame_bytes:
        raise BadInput(f"{path}: {path.stat().st_size} bytes, less than one {width}x{height} "
                       f"{depth}-bit 4:2:0 frame ({frame_bytes} bytes); check size= and bitdepth=")
    reader = YuvReader(path, width, height, depth, matrix)
    name = path.stem
    return TestSequence(name, sequence_class(name, height, folder), path, width, height, len(reader),
                        reader, fps if fps is not None else info.get("fps"), depth)


# -- PNG folders and containers ------------------------------------------------------------------
