"""``python -m search.eval space=fvc checkpoint=... [layout=a.yaml]``: rate-distortion on real video.

Each GOP's first frame is the reference and is not coded (its bits are not counted); every other frame
is coded as a P-frame against the previous reconstruction, from real bitstreams (``bitstream=true``) or
from the likelihoods (``bitstream=false``, faster). Writes the per-frame CSV and prints the per-sequence
summary. Any layout of the space evaluates through the sliced model: a full-width checkpoint (stage 1,
or the supernet's shared weights) is sliced to the layout. ``device=`` runs the codec on a GPU
(CompressAI's entropy coders run on the CPU); a bitstream decodes exactly on the kind of device that
wrote it.
"""
from __future__ import annotations

from pathlib import Path

import torch

from ..config import Command, argv, keys
from ..config.keysets import DEVICE_KEY
from ..data import Clips, EvalSequences
from ..errors import cli_main
from ..evaluation import evaluate, summarise
from ..files import atomic_write
from ..paths import RESULTS_DIR
from ..pipeline.job import configure
from ..training import codec_at_layout

COMMAND = Command("search.eval", __doc__.strip().split("\n\n")[1], keys(
    "space", "checkpoint", "layout", "data", "gop_size=eval.gop_size", "max_gops=eval.max_gops",
    "max_frames=eval.max_frames", "bitstream=eval.bitstream", "out", "seed", "threads", DEVICE_KEY))


@cli_main
def main(args: list[str] | None = None) -> int:
    run = configure(COMMAND, argv() if args is None else args)
    cfg, space = run.cfg, run.space
    torch.manual_seed(cfg.seed)
    model = codec_at_layout(space, run.layout, cfg.checkpoint).to(run.runtime.device)
    sequences = EvalSequences(Clips(cfg.data, max_frames=cfg.eval.max_frames), cfg.eval.gop_size,
                              cfg.eval.max_gops)
    frames = evaluate(model, sequences, cfg.eval.bitstream)
    out = Path(cfg.out) if cfg.out else RESULTS_DIR / space.name / "eval" / "frames.csv"
    atomic_write(out, frames.to_csv(index=False))
    source = "real bitstreams" if cfg.eval.bitstream else "likelihoods (no bitstream written)"
    print(f"{space.codec_name} ({cfg.checkpoint or 'untrained weights'}); GOP {cfg.eval.gop_size}: the "
          f"first frame of each GOP is the reference and is not coded; bpp from {source}")
    print(summarise(frames).to_string(float_format=lambda v: f"{v:.4f}"))
    print(f"per-frame CSV: {out}")
    return 0


if __name__ == "__main__":
    main()
