"""Scoring a layout with the supernet's shared weights on fixed validation frames."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import torch

from ..codec import Codec
from ..data import Clips, TrainPairs, default_clips, is_septuplet_set
from ..errors import BadInput
from ..evaluation import psnr
from ..training import codec_inputs, frames_per_sample, rd_loss


def validation_pairs(data: str | Path = "default", count: int = 4, crop: int = 64, seed: int = 0,
                     multiple: int = 64, max_frames: int | None = 60, frames: int = 2,
                     part: str = "rank") -> torch.Tensor:
    """``[count, 2, 3, crop, crop]`` fixed (reference, current) pairs from the real clips of ``data``
    (``frames=1``: ``[count, 1, 3, crop, crop]`` single images, for an image codec).

    ``part`` is ``rank`` (the frames that rank the outer loop's layouts) or ``decide`` (fresh frames
    for the decision between the band's best and the supernet's level; no frame is in both). With
    ``data=default`` they are the bundled clips' validation frames, which training never sees
    (:func:`search.data.video.part_range`); other data gives the first and the second half of each
    clip's first ``max_frames`` frames (they may overlap training there: :func:`validation_overlap`).
    Crops come from :class:`search.data.TrainPairs` with flips off and a fixed seed, so every trial
    (and every resumed run) sees the same frames. ``crop`` must be a multiple of the codec's
    ``multiple``.
    """
    if count < 1:
        raise BadInput(f"validation count={count}: expected at least 1 frame pair")
    if crop < 1 or crop % multiple:
        raise BadInput(f"validation crop={crop}: expected a positive multiple of the codec's "
                       f"{multiple}")
    if part not in VALIDATION_PARTS:
        raise BadInput(f"validation part {part!r}: expected one of {', '.join(VALIDATION_PARTS)}")
    clips = _validation_clips(data, max_frames, part)
    pairs = TrainPairs(clips, crop, frames, samples_per_epoch=count, seed=seed, hflip=False, vflip=False,
                       skip_small=True)
    return torch.stack([pairs[i] for i in range(count)])


#: the two disjoint validation parts: ranking, then decision
VALIDATION_PARTS = ("rank", "decide")


def _is_default(data: str | Path) -> bool:
    return isinstance(data, str) and data.strip().lower() == "default"


def _validation_clips(data: str | Path, max_frames: int | None, part: str) -> Clips:
    if _is_default(data):
        return Clips(data, part=part, max_frames=max_frames)
    whole = Clips(data, max_frames=max_frames)
    halves = {}
    for i in range(len(whole)):
        arr = whole[i]
        middle = len(arr) // 2
        halves[whole.name(i)] = arr[:middle] if part == "rank" else arr[middle:]
    return Clips.from_arrays(halves)


def describe_part(data: str | Path, part: str, max_frames: int | None = 60) -> str:
    """Which frames the ``rank`` or ``decide`` validation part of ``data`` takes, in words."""
    if _is_default(data):
        from ..data.video import frame_count, part_range

        spans = []
        for path in default_clips():
            start, stop = part_range(frame_count(path), part)
            spans.append(f"{path.stem} frames {start}-{stop - 1}")
        return ", ".join(spans) + " (no training frame)"
    half = "first" if part == "rank" else "second"
    return f"the {half} half of the first {max_frames} frames of each clip of data={data}"


def validation_overlap(data: str | Path, max_frames: int | None = 60) -> str:
    """How the validation frames relate to the training frames of ``data``: empty when disjoint
    (``data=default``'s validation part; a Vimeo-90k set's test list), else a sentence saying so."""
    if _is_default(data) or is_septuplet_set(data):
        return ""
    return (f"the validation frames (the first {max_frames} frames of each clip of data={data}) are "
            f"also training frames: only data=default and Vimeo-90k sets hold validation frames out")


# ------------------------------------------------------------------------------------------ scorer

@dataclass
class Score:
    """RD figures of one layout on the validation pairs (likelihood rates, rounded latents).

    ``rd_loss`` is the mean over ``batch_losses``, the RD losses of disjoint validation batches;
    ``noise`` is its standard error (the spread of the batches over the square root of their count):
    two layouts whose RD losses differ by less than their noise cannot be ranked by these frames.
    """

    rd_loss: float
    bpp: float
    psnr: float
    mse: float
    seconds: float = 0.0
    batch_losses: tuple[float, ...] = ()

    @property
    def noise(self) -> float:
        return standard_error(self.batch_losses)


def standard_error(values: Sequence[float]) -> float:
    """The standard error of the mean of ``values`` (NaN for fewer than two)."""
    if len(values) < 2:
        return float("nan")
    return float(np.std(values, ddof=1) / math.sqrt(len(values)))


class LayoutScorer:
    """Scores layouts with the supernet's shared weights: the full-width ``codec`` run with hard masks
    at the layout (eval mode: rounded latents; rates from likelihoods; no grad), on the validation pairs
    ``frames [n, 2, 3, h, w]`` (an image codec: images ``[n, 1, 3, h, w]``) split into ``batches``
    disjoint batches (one forward each). Returns ``R + lambda * MSE`` with bpp and PSNR, and the
    batches' losses for its noise.
    """

    def __init__(self, codec: Codec, lmbda: float, frames: torch.Tensor, batches: int = 1):
        per_sample = frames_per_sample(codec, 2)
        if not isinstance(frames, torch.Tensor) or frames.dim() != 5 or frames.shape[1:3] != (per_sample, 3):
            shape = list(frames.shape) if isinstance(frames, torch.Tensor) else type(frames).__name__
            raise BadInput(f"validation frames: expected a tensor [n, {per_sample}, 3, h, w], got {shape}")
        m = codec.MULTIPLE
        if frames.shape[-1] % m or frames.shape[-2] % m:
            raise BadInput(f"validation frames are {frames.shape[-2]}x{frames.shape[-1]}: expected "
                           f"multiples of the codec's {m}")
        if not (isinstance(lmbda, (int, float)) and math.isfinite(lmbda) and lmbda > 0):
            raise BadInput(f"lmbda={lmbda!r}: expected a positive number")
        if batches < 1 or len(frames) % batches:
            raise BadInput(f"val_batches={batches}: expected a divisor of val_count={len(frames)} (equal "
                           f"disjoint batches)")
        self.codec, self.lmbda = codec, float(lmbda)
        self.frames = frames.contiguous()
        self.batches = torch.chunk(self.frames, batches)

    def to(self, device: torch.device | str) -> "LayoutScorer":
        """The scorer with its codec and frames on ``device``."""
        self.codec.to(device)
        self.frames = self.frames.to(device)
        self.batches = torch.chunk(self.frames, len(self.batches))
        return self

    @torch.no_grad()
    def score_model(self, model: Codec) -> Score:
        """Score ``model`` as it is (a sliced model, or the full one with masks already set)."""
        start = time.perf_counter()
        was_training = model.training
        model.eval()
        try:
            figures = [self._batch(model, frames) for frames in self.batches]
        finally:
            model.train(was_training)
        mean = {k: float(np.mean([f[k] for f in figures])) for k in figures[0]}
        return Score(mean["loss"], mean["bpp"], mean["psnr"], mean["mse"], time.perf_counter() - start,
                     tuple(f["loss"] for f in figures))

    def _batch(self, model: Codec, frames: torch.Tensor) -> dict[str, float]:
        # a fine-tuned model may live on another device than the shared weights the frames came with
        frames = frames.to(next(model.parameters()).device)
        inputs, x = codec_inputs(model, frames)
        out = model(*inputs)
        figures = rd_loss(out, x, self.lmbda)
        return {"loss": float(figures["loss"]), "bpp": float(figures["bpp"]),
                "psnr": psnr(out["x_hat"], x), "mse": float(figures["mse"])}

    def __call__(self, layout: Mapping[str, int]) -> Score:
        with self.codec.at_layout(layout):
            return self.score_model(self.codec)


@dataclass
class ScorerSpec:
    """What rebuilds a :class:`LayoutScorer` in another process: the space file, the codec's weights,
    the validation frames and the loss's lambda (codec classes are loaded by path, so the scorer
    itself does not pickle to a fresh process)."""

    space_path: str
    state: dict
    frames: torch.Tensor
    lmbda: float
    batches: int

    @classmethod
    def of(cls, scorer: "LayoutScorer", space_path: Path | str) -> "ScorerSpec":
        state = {k: v.detach().cpu() for k, v in scorer.codec.state_dict().items()}
        return cls(str(space_path), state, scorer.frames.cpu(), scorer.lmbda, len(scorer.batches))

    def build(self) -> "LayoutScorer":
        from ..space import load_space

        codec = load_space(self.space_path).codec()
        codec.load_state_dict(self.state)
        return LayoutScorer(codec.eval(), self.lmbda, self.frames, self.batches)
