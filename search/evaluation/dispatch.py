"""One entry for the evaluation of any codec: a video codec codes GOPs (I-frames by the image codec,
P-frames by the model, :mod:`search.evaluation.coding`), an image codec codes each frame as an image
(:mod:`search.evaluation.images`)."""
from __future__ import annotations

from typing import Sequence

import pandas as pd

from ..codec import Codec
from ..data.testset import TestSequence
from ..intra import ClassicalIntra, IntraCodec
from ..training import codes_images
from .coding import evaluate_video
from .images import evaluate_images
from .protocol import Protocol


def evaluate(model: Codec, sequences: Sequence[TestSequence], protocol: Protocol,
             intra: IntraCodec | ClassicalIntra | None, progress: bool = True, point: float | None = None,
             intra_cache: dict | None = None) -> pd.DataFrame:
    """Per-frame figures of every sequence; ``point`` (the lambda) labels an RD point. An image codec
    codes images, without I-frames (``intra`` and ``intra_cache`` unused)."""
    if codes_images(model):
        return evaluate_images(model, sequences, protocol, progress, point)
    return evaluate_video(model, sequences, protocol, intra, progress, point, intra_cache)
