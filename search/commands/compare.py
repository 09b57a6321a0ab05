"""``python -m search.compare A B ... [out=FOLDER] [method=akima]``: BD-rate and BD-PSNR / BD-MS-SSIM.

Each input is an output of ``python -m search.eval`` with one checkpoint per lambda (``frames.csv``,
``sequences.csv`` or their folder), compared with the first, per sequence and averaged per class; or a
main job's folder run with several lambdas (every supernet level against the original decoder, each
chosen architecture against uniform slimming at equal GMACs). Prints the table, writes ``bd.csv`` and
an RD plot per class to ``out=`` (default ``results/compare``).
"""
from __future__ import annotations

from pathlib import Path

from ..config import Command, argv, keys, parse
from ..errors import cli_main
from ..evaluation import QUALITY
from ..paths import RESULTS_DIR
from ..pipeline.compare_job import run_compare

COMMAND = Command("search.compare", __doc__.strip().split("\n\n")[1],
                  keys("inputs=compare.inputs", "method=compare.method", "out"))


@cli_main
def main(args: list[str] | None = None) -> int:
    words = argv() if args is None else args
    inputs = [w for w in words if "=" not in w and not w.startswith("-")]
    rest = [w for w in words if w not in inputs]
    cfg = parse(COMMAND, rest + ([f"inputs=[{','.join(inputs)}]"] if inputs else []))
    out = Path(cfg.out) if cfg.out else RESULTS_DIR / "compare"
    table = run_compare(cfg.compare, out)
    for metric, rows in table.groupby("metric", sort=False):
        print(f"{QUALITY[metric]} and BD-rate (%), each against its anchor:")
        print(rows.drop(columns="metric").rename(columns={"bd_quality": QUALITY[metric]})
              .to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"written: {out / 'bd.csv'}")
    return 0


if __name__ == "__main__":
    main()
