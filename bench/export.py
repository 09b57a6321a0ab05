"""Standalone decoders: onnxruntime against PyTorch, per codec at full and at half width.

    python bench/export.py [--codecs fvc,dvc,dcvc,slimcae,evc] [--resolution 448x256] [--threads 1]
                           [--repeats 5] [--format onnx]

Runs ``python -m search.export`` (its code path, in-process) for each codec at its full layout and
at uniform half width (``Space.scaled_layout(0.5)``), random weights (the time does not depend on
them), and prints each part's and each decoder's median time in PyTorch and in the exported format
(one warm-up run, then ``--repeats``), their ratio (exported / PyTorch; below 1: the export is
faster) and the largest absolute difference of the outputs. Parts kept in PyTorch (DCVC's
autoregressive context models) are not timed. Prints the load average it ran under: other processes
on the machine slow both sides alike, but not exactly.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search.commands import export as export_cli  # noqa: E402
from search.space import layout_file, load_space  # noqa: E402

CODECS = ("fvc", "dvc", "dcvc", "slimcae", "evc")


def export(codec: str, which: str, args: argparse.Namespace, folder: Path) -> dict:
    """The manifest of one export (the command's own output silenced)."""
    space = load_space(codec)
    layout = space.full_layout() if which == "full" else space.scaled_layout(0.5)
    path = folder / f"{codec}-{which}.yaml"
    width, height = (int(v) for v in args.resolution.split("x"))
    layout_file(space, layout, (width, height), None, name=which).save(path)
    out = folder / f"{codec}-{which}"
    with contextlib.redirect_stdout(io.StringIO()):
        export_cli.main([f"layout={path}", f"format={args.format}", f"out={out}",
                         f"resolution={args.resolution}", f"threads={args.threads}",
                         f"repeats={args.repeats}"])
    return json.loads((out / "manifest.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--codecs", default=",".join(CODECS))
    parser.add_argument("--resolution", default="448x256")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--format", default="onnx")
    args = parser.parse_args()
    print(f"$ python bench/export.py --codecs {args.codecs} --resolution {args.resolution} "
          f"--threads {args.threads} --repeats {args.repeats} --format {args.format}")
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())} "
          f"({os.cpu_count()} CPUs)")
    header = f"{'codec':<8} {'width':<5} {'part':<20} {'GMACs':>8} {'PyTorch ms':>11} " \
             f"{args.format + ' ms':>9} {'ratio':>6} {'max diff':>9}"
    print(header)
    with tempfile.TemporaryDirectory() as tmp:
        for codec in args.codecs.split(","):
            for which in ("full", "half"):
                manifest = export(codec, which, args, Path(tmp))
                timed = [p for p in manifest["parts"] if not p["kept_in_pytorch"]]
                for p in manifest["parts"]:
                    if p["kept_in_pytorch"]:
                        print(f"{codec:<8} {which:<5} {p['name']:<20} {p['gmacs']:8.3f}   kept in PyTorch")
                        continue
                    print(f"{codec:<8} {which:<5} {p['name']:<20} {p['gmacs']:8.3f} "
                          f"{1e3 * p['seconds_pytorch']:11.2f} {1e3 * p['seconds_exported']:9.2f} "
                          f"{p['ratio']:6.2f} {p['max_abs_diff']:9.1e}")
                torch_s = sum(p["seconds_pytorch"] for p in timed)
                exported_s = sum(p["seconds_exported"] for p in timed)
                print(f"{codec:<8} {which:<5} {'= exported parts':<20} "
                      f"{sum(p['gmacs'] for p in timed):8.3f} {1e3 * torch_s:11.2f} "
                      f"{1e3 * exported_s:9.2f} {exported_s / torch_s:6.2f} "
                      f"{manifest['max_abs_diff']:9.1e}")
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
