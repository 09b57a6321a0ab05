"""Rate-distortion of a codec on test sequences, frame by frame, as the field measures it.

Each GOP's first frame is an I-frame coded by the image codec (:mod:`search.intra`; its bits from its
real bitstream count in bpp), every other frame a P-frame coded against the previous reconstruction.
Frames are padded to the codecs' common multiple and cropped back for the metrics; bits are counted
over the original frame size. Per frame: PSNR and MS-SSIM in RGB (and, on request, PSNR of Y, U, V and
their 6:1:1 average in YUV 4:2:0), bpp of the I-frame, the motion and the residual. P-frame rates come
from real bitstreams (``bitstream=True``) or from the likelihoods (faster); ``bpp_source`` says which.

With ``intra=None`` (``intra=pristine``) the first frame of each GOP is the original frame, costs no bits
and has no row: today's figures of learned P-frame codecs without I-frames, not comparable with
published ones (``protocol`` of every row says so).
"""
from __future__ import annotations

import math
from typing import Sequence

import pandas as pd
import torch
from tqdm import tqdm

from ..codec import Codec
from ..data import crop_back, pad_to_multiple
from ..data.testset import Frame, TestSequence
from ..intra import ClassicalIntra, IntraCodec, stream_bits
from ..training.rd import rates_bpp
from .measure import check_decoded, quality
from .protocol import Protocol

RATE_COLUMNS = ("bpp_i", "bpp_motion", "bpp_residual")


def code_i_frame(intra: IntraCodec | ClassicalIntra, x: torch.Tensor, size: tuple[int, int]
                 ) -> tuple[torch.Tensor, int]:
    """(reconstruction at ``x``'s padded size, bits) of one I-frame through the image codec's real
    bitstream. A learned codec codes the padded frame (its padding is its multiple); a classical one
    codes the frame cropped to its own multiple (even sizes), and its reconstruction is padded back
    by replicating edges, as the frame was."""
    if isinstance(intra, IntraCodec):
        return intra.code(x)
    h, w = (-(-n // intra.multiple) * intra.multiple for n in size)
    coded, bits = intra.code(x[..., :h, :w])
    return pad_to_multiple(coded, (x.shape[-2], x.shape[-1]))[0], bits


@torch.no_grad()
def code_p_frame(model: Codec, ref: torch.Tensor, x: torch.Tensor, bitstream: bool
                 ) -> tuple[torch.Tensor, dict[str, float]]:
    """(reconstruction, {bpp_motion, bpp_residual} over the padded pixels) of one padded P-frame.
    With ``bitstream`` the decoded frame is checked against the encoder's (:func:`check_decoded`)."""
    pixels = x.shape[0] * x.shape[2] * x.shape[3]
    if bitstream:
        compressed = model.compress(ref, x)
        x_hat = model.decompress(ref, compressed)["x_hat"]
        check_decoded(x_hat, model(ref, x)["x_hat"], type(model).__name__)
        rates = {part: stream_bits(compressed["strings"].get(part, {})) / pixels
                 for part in ("motion", "residual")}
    else:
        out = model(ref, x)
        x_hat = out["x_hat"]
        rates = {k: float(v) for k, v in rates_bpp(out["likelihoods"], pixels).items()}
    return x_hat.clamp(0, 1), {"bpp_motion": rates.get("motion", 0.0),
                               "bpp_residual": rates.get("residual", 0.0)}


def evaluate_sequence(model: Codec, intra: IntraCodec | ClassicalIntra | None, sequence: TestSequence,
                      protocol: Protocol, bar: tqdm | None = None, intra_cache: dict | None = None
                      ) -> list[dict]:
    """One row per coded frame of ``sequence`` (see the module docstring). ``intra_cache`` keeps the
    coded I-frames across calls: they do not depend on the P-frame codec."""
    period, count = protocol.period(sequence), protocol.frames(sequence)
    multiple = math.lcm(model.MULTIPLE, intra.multiple if intra else 1)
    device = next(model.parameters()).device
    if intra is not None:
        intra.to(device)  # the I-frame codec codes where the P-frame codec does
    rows, ref = [], None
    for index, frame in enumerate(sequence.frames(0, count)):
        frame = Frame(frame.rgb.to(device), frame.yuv and tuple(p.to(device) for p in frame.yuv))
        x, size = pad_to_multiple(frame.rgb, multiple)
        scale = x.shape[-2] * x.shape[-1] / (size[0] * size[1])  # bits over the original pixels
        if index % period == 0:
            if intra is None:
                ref = x
                continue
            key = (sequence.name, str(sequence.path), index, tuple(x.shape))
            cached = intra_cache.get(key) if intra_cache is not None else None
            ref, bits = cached if cached is not None else code_i_frame(intra, x, size)
            ref = ref.to(device)  # cached I-frames may come from a codec on another device
            if intra_cache is not None:
                intra_cache[key] = (ref, bits)
            rates = {"bpp_i": bits / (size[0] * size[1]), "bpp_motion": 0.0, "bpp_residual": 0.0}
        else:
            ref, p_rates = code_p_frame(model, ref, x, protocol.bitstream)
            rates = {"bpp_i": 0.0, **{k: v * scale for k, v in p_rates.items()}}
        rows.append({"sequence": sequence.name, "class": sequence.group, "frame": index,
                     "type": "I" if index % period == 0 else "P",
                     **quality(crop_back(ref, size), frame, protocol, sequence.bitdepth), **rates,
                     "bpp": sum(rates.values())})
        if bar is not None:
            bar.update(1)
            bar.set_postfix(psnr=f"{rows[-1]['psnr']:.2f}", refresh=False)
    return rows


def evaluate_video(model: Codec, sequences: Sequence[TestSequence], protocol: Protocol,
             intra: IntraCodec | ClassicalIntra | None, progress: bool = True, point: float | None = None,
             intra_cache: dict | None = None) -> pd.DataFrame:
    """Per-frame figures of every sequence coded by a video codec; ``point`` (the lambda) labels an RD
    point. :func:`search.evaluation.dispatch.evaluate` sends image codecs elsewhere."""
    model.eval()
    if protocol.bitstream:
        from ..entropy import update_all

        update_all(model, force=True)  # weights may have changed since the tables were built
    total = sum(protocol.frames(s) for s in sequences)
    with tqdm(total=total, desc="eval", disable=not progress, dynamic_ncols=True) as bar:
        rows = [row for s in sequences
                for row in evaluate_sequence(model, intra, s, protocol, bar, intra_cache)]
    frame = pd.DataFrame(rows)
    source = "bitstream" if protocol.bitstream else "likelihood"
    frame["bpp_source"] = f"P: {source}, I: bitstream" if intra else f"P: {source}"
    frame["intra"] = f"{intra.architecture} ({intra.label})" if intra else "pristine (not comparable)"
    if point is not None:
        frame.insert(0, "lambda", float(point))
    return frame
