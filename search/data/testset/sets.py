"""A test set: ``default`` (the held-out tails of the bundled clips), a file, or folders of them; and
whether a test set overlaps the training data."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ...errors import BadInput
from ..color import check_matrix
from ..video import HELD_OUT, VIDEO_EXTENSIONS, default_clips, frame_count
from .container import open_video
from .png import open_png_folder, png_files
from .sequence import TestSequence
from .yuv import YUV_EXTENSIONS, open_yuv


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
