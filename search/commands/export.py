"""``python -m search.export layout=L.yaml [checkpoint=W.pt] format=onnx|torchscript|pt2``: a chosen
decoder as standalone models.

Writes the decoder of the codec built at the layout (channels removed, no masks) as one file per part
(frame decoder or synthesis transform, motion decoding and compensation, hyper decoders) and
``manifest.json`` (parts, input and output names and shapes, fvcore GMACs of each part, the layout,
the format, the largest difference measured) to ``out=``. Each part is run back in its format
(onnxruntime for onnx) at ``resolution=`` on random inputs, checked against the PyTorch part (within
``tolerance=``) and against the closed-form MACs, and timed next to it. Without ``checkpoint=`` the
weights are randomly initialised from ``seed=``, to try the export without a trained run; without
``layout=`` the full codec of ``space=`` is exported. Entropy decoding stays CompressAI's; parts that
run inside it (DCVC's autoregressive context models) stay in PyTorch and are listed as such.
"""
from __future__ import annotations

import sys

from ..config import Command, argv, keys
from ..config.keysets import DEVICE_KEY
from ..deploy import check_format, check_opset
from ..errors import cli_main
from ..pipeline.export_job import check_device, export_decoder
from ..pipeline.job import configure
from . import codecs_help

COMMAND = Command("search.export", __doc__.strip().split("\n\n")[1], keys(
    "layout", "checkpoint", "space", "format=export.format", "out", "resolution",
    "opset=export.opset", "repeats=export.repeats", "tolerance=export.tolerance", "threads", "seed",
    "profile_dir=profile.dir", DEVICE_KEY),
                  defaults={"resolution": "448x256"}, epilog=codecs_help)


@cli_main
def main(args: list[str] | None = None) -> int:
    run = configure(COMMAND, argv() if args is None else args)
    cfg, space = run.cfg, run.space
    fmt = check_format(cfg.export.format)
    if fmt.name == "onnx":
        check_opset(cfg.export.opset)
    check_device(cfg)
    manifest = export_decoder(cfg, space, run.layout, fmt)
    print(f"{manifest.codec} at {manifest.resolution} (padded {manifest.padded}), {fmt.name} "
          f"({fmt.exporter}; run with {fmt.runtime}), weights: {manifest.weights}")
    print(f"  {'part':<22} {'GMACs':>9} {'max diff':>10} {'PyTorch s':>10} {fmt.name + ' s':>12} "
          f"{'ratio':>6}")
    for p in manifest.parts:
        if p.kept_in_pytorch:
            print(f"  {p.name:<22} {p.gmacs:9.3f}  kept in PyTorch: {p.kept_in_pytorch}")
            continue
        print(f"  {p.name:<22} {p.gmacs:9.3f} {p.max_abs_diff:10.2e} {p.seconds_pytorch:10.4f} "
              f"{p.seconds_exported:12.4f} {p.ratio:6.2f}")
    print(f"  decoder total {manifest.gmacs:.3f} GMACs; entropy decoding {manifest.entropy_decoding}")
    print(f"manifest: {manifest.folder}/manifest.json")
    if not manifest.verified:
        print(f"error: an exported part differs from PyTorch by {manifest.max_abs_diff:.2e} > "
              f"tolerance {manifest.tolerance:g}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
