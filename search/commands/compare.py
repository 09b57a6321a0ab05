"""``python -m search.compare A B ... [out=FOLDER] [method=akima] [seeds=[0,1,2]]``: BD-rate and
BD-PSNR / BD-MS-SSIM with bootstrap intervals.

Each input is an output of ``python -m search.eval`` or ``python -m search.anchors`` (``frames.csv``,
``sequences.csv`` or their folder) or a main job's folder run with several lambdas; every curve is
compared with the first input (the anchor), per sequence and averaged per class. A main job's folder
alone compares every supernet level with the original decoder and each chosen architecture with uniform
slimming at equal GMACs. Each figure (BD-rate, BD-quality, the quality difference at matched bpp) gets a
95% bootstrap interval over sequences (GOPs for one sequence; seeds x sequences for folders that differ
only in ``seed<N>``) and a verdict word: better, worse or not distinguishable. Prints the table, writes
``bd.csv`` and an RD plot per class of every curve, with error bars, to ``out=`` (default
``results/compare``).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..config import Command, argv, keys, parse
from ..errors import cli_main
from ..evaluation import QUALITY
from ..paths import RESULTS_DIR
from ..pipeline.compare_job import run_compare

COMMAND = Command("search.compare", __doc__.strip().split("\n\n")[1],
                  keys("inputs=compare.inputs", "method=compare.method", "seeds=compare.seeds",
                       "resamples=compare.resamples", "confidence=compare.confidence", "seed", "out"))
#: what the console shows of each figure
SHOWN = {"bd_rate": "BD-rate %", "bd_quality": "BD-quality", "d_quality_at_bpp": "at equal bpp"}


def shown(table: pd.DataFrame) -> pd.DataFrame:
    """Each figure as ``estimate [low, high] verdict`` in one column."""
    out = table[["test", "anchor", "class", "sequence"]].copy()
    for column, title in SHOWN.items():
        out[title] = [f"{e:+.3f} [{lo:+.3f}, {hi:+.3f}] {v}" for e, lo, hi, v in
                      zip(table[column], table[f"{column}_low"], table[f"{column}_high"],
                          table[f"{column}_verdict"])]
    out["units"] = table["units"]
    return out


@cli_main
def main(args: list[str] | None = None) -> int:
    words = argv() if args is None else args
    inputs = [w for w in words if "=" not in w and not w.startswith("-")]
    rest = [w for w in words if w not in inputs]
    cfg = parse(COMMAND, rest + ([f"inputs=[{','.join(inputs)}]"] if inputs else []))
    out = Path(cfg.out) if cfg.out else RESULTS_DIR / "compare"
    table = run_compare(cfg.compare, out, cfg.seed)
    for metric, rows in table.groupby("metric", sort=False):
        print(f"{QUALITY[metric]} and BD-rate (%), each against its anchor, with "
              f"{cfg.compare.confidence:.0%} bootstrap intervals (BD-quality and 'at equal bpp' in "
              f"{'dB' if metric == 'psnr' else 'MS-SSIM'}):")
        print(shown(rows).to_string(index=False))
    print(f"written: {out / 'bd.csv'}")
    return 0


if __name__ == "__main__":
    main()
