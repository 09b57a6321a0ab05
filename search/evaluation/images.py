"""Rate-distortion of an image codec (``CODES = "image"``) on test images, image by image.

Each image is padded to the codec's multiple, coded through its real bitstream (``compress`` with
CompressAI's coders, then ``decompress``: the decoded image is what the figures measure) and cropped
back. Per image: PSNR and MS-SSIM in RGB, ``bpp`` from the bitstream's bytes and ``bpp_likelihood``,
the estimate ``-log2`` of the likelihoods of ``forward`` in eval mode, both over the original pixels.
There are no I-frames and no P-frames: no I-frame codec is involved.

Which images a test sequence gives: every image of a PNG folder (a Kodak-like set: ``kodim01.png``
..; at most ``max_frames`` of them), and of a video or YUV file the frames an I-frame codec would code,
the first frame of each GOP within the protocol's frames (``gop_size``, ``max_gops``, ``condition``).
"""
from __future__ import annotations

from typing import Iterator, Sequence

import pandas as pd
import torch
from tqdm import tqdm

from ..codec import Codec
from ..data import crop_back, pad_to_multiple
from ..data.testset import Frame, TestSequence
from ..entropy import bits
from ..intra import stream_bits
from .measure import check_decoded, quality
from .protocol import Protocol


def image_indices(sequence: TestSequence, protocol: Protocol) -> list[int]:
    """The indices of the images ``sequence`` gives (see the module docstring)."""
    if sequence.path.is_dir():  # a folder of PNG images: each is an image of the set
        count = sequence.length if protocol.max_frames is None else min(sequence.length,
                                                                         protocol.max_frames)
        return list(range(count))
    return list(range(0, protocol.frames(sequence), protocol.period(sequence)))


def images_of(sequence: TestSequence, indices: Sequence[int]) -> Iterator[tuple[int, Frame]]:
    """``(index, frame)`` of the wanted frames, reading the sequence once from its start."""
    wanted = set(indices)
    if not wanted:
        return
    for index, frame in enumerate(sequence.frames(0, max(wanted) + 1)):
        if index in wanted:
            yield index, frame


@torch.no_grad()
def code_image(model: Codec, x: torch.Tensor) -> tuple[torch.Tensor, int, float]:
    """(decoded image, bits of the real bitstream, bits estimated from the likelihoods) of one padded
    image ``[1, 3, H, W]``."""
    compressed = model.compress(x)
    x_hat = model.decompress(compressed)["x_hat"]
    forward = model(x)
    check_decoded(x_hat, forward["x_hat"], type(model).__name__)
    estimate = sum(float(bits(p)) for part in forward["likelihoods"].values() for p in part.values())
    return x_hat.clamp(0, 1), stream_bits(compressed["strings"]), estimate


def evaluate_image_sequence(model: Codec, sequence: TestSequence, protocol: Protocol,
                            bar: tqdm | None = None) -> list[dict]:
    """One row per image of ``sequence``."""
    device = next(model.parameters()).device
    rows = []
    for index, frame in images_of(sequence, image_indices(sequence, protocol)):
        frame = Frame(frame.rgb.to(device), frame.yuv and tuple(p.to(device) for p in frame.yuv))
        x, size = pad_to_multiple(frame.rgb, model.MULTIPLE)
        x_hat, real, estimate = code_image(model, x)
        pixels = size[0] * size[1]
        rows.append({"sequence": sequence.name, "class": sequence.group, "frame": index, "type": "image",
                     **quality(crop_back(x_hat, size), frame, protocol, sequence.bitdepth),
                     "bpp": real / pixels, "bpp_likelihood": estimate / pixels})
        if bar is not None:
            bar.update(1)
            bar.set_postfix(psnr=f"{rows[-1]['psnr']:.2f}", refresh=False)
    return rows


def evaluate_images(model: Codec, sequences: Sequence[TestSequence], protocol: Protocol,
                    progress: bool = True, point: float | None = None) -> pd.DataFrame:
    """Per-image figures of an image codec on every sequence; ``point`` (the lambda) labels an RD
    point."""
    from ..entropy import update_all

    model.eval()
    update_all(model, force=True)  # weights may have changed since the coder tables were built
    total = sum(len(image_indices(s, protocol)) for s in sequences)
    with tqdm(total=total, desc="eval", disable=not progress, dynamic_ncols=True) as bar:
        rows = [row for s in sequences for row in evaluate_image_sequence(model, s, protocol, bar)]
    frame = pd.DataFrame(rows)
    frame["bpp_source"] = "image: bitstream (bpp_likelihood: the likelihoods' estimate)"
    frame["intra"] = "none (image codec)"
    if point is not None:
        frame.insert(0, "lambda", float(point))
    return frame
