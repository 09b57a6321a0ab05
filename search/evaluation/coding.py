"""Rate-distortion of a codec on real video, P-frame by P-frame.

Each GOP's first frame is the reference and is not coded (its bits are not counted); every other frame
is coded as a P-frame against the previous reconstruction. Frames are padded to the codec's multiple
and cropped back for the metrics. Per frame: PSNR (RGB), MS-SSIM, bpp of motion and residual, from
real bitstreams (CompressAI's coders, ``bitstream=True``) or from the likelihoods (faster); the
``bpp_source`` column says which.
"""
from __future__ import annotations

import pandas as pd
import torch
from tqdm import tqdm

from ..codec import Codec
from ..data import EvalSequences, crop_back, pad_to_multiple
from ..entropy import update_all
from ..training.rd import rates_bpp
from .metrics import msssim, psnr


def _stream_bits(strings) -> int:
    if isinstance(strings, (bytes, bytearray)):
        return 8 * len(strings)
    if isinstance(strings, dict):
        return sum(_stream_bits(v) for v in strings.values())
    return sum(_stream_bits(v) for v in strings)


@torch.no_grad()
def code_p_frame(model: Codec, ref: torch.Tensor, x: torch.Tensor, bitstream: bool
                 ) -> tuple[torch.Tensor, dict[str, float]]:
    """(reconstruction, {bpp_motion, bpp_residual}) of one padded P-frame."""
    pixels = x.shape[0] * x.shape[2] * x.shape[3]
    if bitstream:
        compressed = model.compress(ref, x)
        x_hat = model.decompress(ref, compressed)["x_hat"]
        rates = {part: _stream_bits(compressed["strings"].get(part, {})) / pixels
                 for part in ("motion", "residual")}
    else:
        out = model(ref, x)
        x_hat = out["x_hat"]
        rates = {k: float(v) for k, v in rates_bpp(out["likelihoods"], pixels).items()}
    return x_hat, {"bpp_motion": rates.get("motion", 0.0), "bpp_residual": rates.get("residual", 0.0)}


def evaluate(model: Codec, sequences: EvalSequences, bitstream: bool = True,
             progress: bool = True) -> pd.DataFrame:
    """Per-frame figures of every P-frame of every GOP (see the module docstring)."""
    model.eval()
    if bitstream:
        update_all(model, force=True)  # weights may have changed since the tables were built
    rows = []
    total = sum(len(g.frames) - 1 for g in sequences) if progress else None
    bar = tqdm(total=total, desc="eval", disable=not progress, dynamic_ncols=True)
    device = next(model.parameters()).device  # the codec's device; metrics are taken on the CPU
    for gop in sequences:
        padded, size = pad_to_multiple(gop.frames.to(device), model.MULTIPLE)
        ref = padded[:1]
        for t in range(1, len(padded)):
            x_hat, rates = code_p_frame(model, ref, padded[t:t + 1], bitstream)
            x_hat = x_hat.clamp(0, 1)
            frame_hat, frame = crop_back(x_hat, size).cpu(), gop.frames[t:t + 1]
            # bits over the nominal (unpadded) pixels
            scale = (padded.shape[-2] * padded.shape[-1]) / (size[0] * size[1])
            rows.append({"sequence": gop.name, "gop": gop.index, "frame": gop.start + t,
                         "psnr": psnr(frame_hat, frame), "ms_ssim": msssim(frame_hat, frame),
                         "bpp_motion": rates["bpp_motion"] * scale,
                         "bpp_residual": rates["bpp_residual"] * scale,
                         "bpp_source": "bitstream" if bitstream else "likelihood"})
            ref = x_hat
            bar.update(1)
            bar.set_postfix(psnr=f"{rows[-1]['psnr']:.2f}", refresh=False)
    bar.close()
    frame = pd.DataFrame(rows)
    frame["bpp"] = frame["bpp_motion"] + frame["bpp_residual"]
    return frame


def summarise(frames: pd.DataFrame) -> pd.DataFrame:
    """Per sequence means, and the mean over sequences."""
    cols = ["psnr", "ms_ssim", "bpp", "bpp_motion", "bpp_residual"]
    per_seq = frames.groupby("sequence", sort=False)[cols].mean()
    per_seq["frames"] = frames.groupby("sequence", sort=False).size()
    per_seq.loc["mean over sequences"] = per_seq[cols].mean().tolist() + [int(per_seq["frames"].sum())]
    return per_seq


def mean_figures(model: Codec, sequences: EvalSequences, bitstream: bool) -> dict[str, float]:
    """PSNR, MS-SSIM and bpp of ``model`` averaged over every coded frame (no progress bar)."""
    frame = evaluate(model, sequences, bitstream, progress=False)
    return {"psnr": float(frame["psnr"].mean()), "bpp": float(frame["bpp"].mean()),
            "ms_ssim": float(frame["ms_ssim"].mean())}
