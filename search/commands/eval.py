"""``python -m search.eval space=fvc checkpoint=C.pt [layout=a.yaml] [data=...]``: rate-distortion on
test sequences.

Each GOP's first frame is an I-frame coded by x265's HEVC intra (``intra=hevc``, as BPG; the quick
preset's default), AVIF (``intra=avif``) or a learned image codec (``intra=learned``, the paper
preset's default; ``intra=pristine``: not coded, figures not comparable), the others P-frames coded against the previous reconstruction. Several
checkpoints (``checkpoint=[a.pt,b.pt,...]``, one per lambda) give RD curves. Writes ``frames.csv``,
``sequences.csv``, ``classes.csv`` (and ``rd_psnr``/``rd_msssim`` plots) to ``out=`` (a folder, or
the per-frame CSV with the rest beside it) and prints the per-sequence and per-class figures. Any
layout of the space evaluates through the sliced model of a full-width checkpoint. ``device=`` runs the codec on a
GPU (CompressAI's entropy coders run on the CPU); a bitstream decodes exactly on the kind of device that
wrote it.
"""
from __future__ import annotations

from ..config import Command, argv, keys
from ..config.keysets import DEVICE_KEY, INTRA_KEYS
from ..errors import cli_main
from ..pipeline.eval_job import evaluate_points, output_paths, write_eval
from ..pipeline.job import configure
from . import codecs_help

COMMAND = Command("search.eval", __doc__.strip().split("\n\n")[1], keys(
    "space", "checkpoint", "layout", "data=eval.data", "condition=eval.condition",
    "gop_size=eval.gop_size", "intra_period=eval.gop_size", "max_gops=eval.max_gops",
    "max_frames=eval.max_frames", "frames=eval.max_frames", "bitstream=eval.bitstream",
    "yuv_to_rgb=eval.yuv_to_rgb", "yuv_psnr=eval.yuv_psnr", "size=eval.size", "fps=eval.fps",
    "bitdepth=eval.bitdepth", *INTRA_KEYS, "lmbda=eval.lambdas", "preset", "out", "seed",
    "threads",
    DEVICE_KEY),
                  epilog=codecs_help)


@cli_main
def main(args: list[str] | None = None) -> int:
    run = configure(COMMAND, argv() if args is None else args)
    cfg, space = run.cfg, run.space
    frames = evaluate_points(cfg, space, run.layout, run.runtime.device)
    folder, frames_csv = output_paths(cfg, space)
    tables = write_eval(frames, folder, frames_csv, title=f"{space.name}: {space.codec_name}")
    print(f"{space.codec_name} ({cfg.checkpoint or 'untrained weights'}); {frames['intra'].iloc[0]} "
          f"I-frames; bpp from {frames['bpp_source'].iloc[0]}")
    show = lambda frame: frame.to_string(index=False, float_format=lambda v: f"{v:.4f}")  # noqa: E731
    print(show(tables["sequences"]))
    print(show(tables["classes"]))
    print(f"per-frame CSV: {frames_csv}")
    return 0


if __name__ == "__main__":
    main()
