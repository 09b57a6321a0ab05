"""``python -m search.anchors codec=x265 [data=...] [quality=[...]] [out=...]``: a classical codec as an
anchor.

JPEG, WebP or AVIF (Pillow) on test images, x264, x265 or SVT-AV1 (PyAV: low delay, IPPP, an I-frame per
intra period ``gop_size=``) on test sequences, over a quality (images) or CRF (video) sweep. Writes
``frames.csv``, ``sequences.csv`` and ``classes.csv`` with the columns of ``python -m search.eval``
(``quality`` labels the RD point instead of ``lambda``), so ``python -m search.compare <anchor> <run>``
gives BD figures against it.
"""
from __future__ import annotations

from ..config import Command, argv, keys, parse
from ..errors import cli_main
from ..pipeline.anchor_job import run_anchor

COMMAND = Command("search.anchors", __doc__.strip().split("\n\n")[1], keys(
    "codec=anchors.codec", "quality=anchors.quality", "speed=anchors.speed", "data=eval.data",
    "condition=eval.condition", "gop_size=eval.gop_size", "intra_period=eval.gop_size",
    "max_gops=eval.max_gops", "max_frames=eval.max_frames", "frames=eval.max_frames",
    "yuv_to_rgb=eval.yuv_to_rgb", "yuv_psnr=eval.yuv_psnr", "size=eval.size", "fps=eval.fps",
    "bitdepth=eval.bitdepth", "out"))


@cli_main
def main(args: list[str] | None = None) -> int:
    cfg = parse(COMMAND, argv() if args is None else args)
    folder, frames_csv, frames, tables = run_anchor(cfg)
    print(f"{frames['codec'].iloc[0]}: {frames['settings'].iloc[0]}")
    show = lambda frame: frame.to_string(index=False, float_format=lambda v: f"{v:.4f}")  # noqa: E731
    print(show(tables["classes"]))
    print(f"per-frame CSV: {frames_csv} (python -m search.compare {folder} <run> for BD figures)")
    return 0


if __name__ == "__main__":
    main()
