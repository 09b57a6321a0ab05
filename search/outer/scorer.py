"""Scoring a layout with the supernet's shared weights on fixed validation frames."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import torch

from ..codec import Codec
from ..data import Clips, TrainPairs
from ..errors import BadInput
from ..evaluation import psnr
from ..training import rd_loss


def validation_pairs(data: str | Path = "default", count: int = 4, crop: int = 64, seed: int = 0,
                     multiple: int = 64, max_frames: int | None = 60) -> torch.Tensor:
    """``[count, 2, 3, crop, crop]`` fixed (reference, current) pairs from the real clips of ``data``.

    Crops come from :class:`search.data.TrainPairs` with flips off and a fixed seed, so every trial
    (and every resumed run) sees the same frames. ``crop`` must be a multiple of the codec's
    ``multiple``; ``max_frames`` limits how much of each clip is decoded.
    """
    if count < 1:
        raise BadInput(f"validation count={count}: expected at least 1 frame pair")
    if crop < 1 or crop % multiple:
        raise BadInput(f"validation crop={crop}: expected a positive multiple of the codec's "
                       f"{multiple}")
    clips = Clips(data, max_frames=max_frames)
    pairs = TrainPairs(clips, crop, 2, samples_per_epoch=count, seed=seed, hflip=False, vflip=False,
                       skip_small=True)
    return torch.stack([pairs[i] for i in range(count)])


# ------------------------------------------------------------------------------------------ scorer

@dataclass
class Score:
    """RD figures of one layout on the validation pairs (likelihood rates, rounded latents)."""

    rd_loss: float
    bpp: float
    psnr: float
    mse: float
    seconds: float = 0.0


class LayoutScorer:
    """Scores layouts with the supernet's shared weights: the full-width ``codec`` run with hard masks
    at the layout (eval mode: rounded latents; rates from likelihoods; no grad), all validation pairs
    ``frames [n, 2, 3, h, w]`` in one batched forward. Returns ``R + lambda * MSE`` with bpp and PSNR.
    """

    def __init__(self, codec: Codec, lmbda: float, frames: torch.Tensor):
        if not isinstance(frames, torch.Tensor) or frames.dim() != 5 or frames.shape[1:3] != (2, 3):
            shape = list(frames.shape) if isinstance(frames, torch.Tensor) else type(frames).__name__
            raise BadInput(f"validation frames: expected a tensor [n, 2, 3, h, w], got {shape}")
        m = codec.MULTIPLE
        if frames.shape[-1] % m or frames.shape[-2] % m:
            raise BadInput(f"validation frames are {frames.shape[-2]}x{frames.shape[-1]}: expected "
                           f"multiples of the codec's {m}")
        if not (isinstance(lmbda, (int, float)) and math.isfinite(lmbda) and lmbda > 0):
            raise BadInput(f"lmbda={lmbda!r}: expected a positive number")
        self.codec, self.lmbda = codec, float(lmbda)
        self.frames = frames.contiguous()

    @torch.no_grad()
    def score_model(self, model: Codec) -> Score:
        """Score ``model`` as it is (a sliced model, or the full one with masks already set)."""
        start = time.perf_counter()
        was_training = model.training
        model.eval()
        try:
            ref, x = self.frames[:, 0], self.frames[:, 1]
            out = model(ref, x)
            figures = rd_loss(out, x, self.lmbda)
            score = Score(float(figures["loss"]), float(figures["bpp"]), psnr(out["x_hat"], x),
                          float(figures["mse"]))
        finally:
            model.train(was_training)
        score.seconds = time.perf_counter() - start
        return score

    def __call__(self, layout: Mapping[str, int]) -> Score:
        with self.codec.at_layout(layout):
            return self.score_model(self.codec)
