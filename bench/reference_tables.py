"""Markdown tables of the reference experiment, read from its result files (nothing is re-measured).

``python bench/reference_tables.py run=results/reference/slimcae compare=results/reference/compare-jpeg,...``
prints, per lambda, the original decoder (stage-1 weights and the shared weights), and per target the
chosen and the uniform architecture (GMACs, PSNR, bpp on the held-out images); then the overall rows of
each ``bd.csv`` (every figure with its interval and verdict).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd


def lambda_rows(run: Path) -> list[str]:
    lines = ["| lambda | decoder | GMACs | PSNR (dB) | bpp |", "| --- | --- | --- | --- | --- |"]
    for folder in sorted(run.glob("lambda-*"), key=lambda p: float(p.name.split("-", 1)[1])):
        summary_file = folder / "summary.json"
        if not summary_file.is_file():
            lines.append(f"| {folder.name[7:]} | (not finished) | | | |")
            continue
        s = json.loads(summary_file.read_text())
        o = s["original"]
        full = s["range_gmacs"][1]
        if "stage1" in o:
            lines.append(f"| {s['lambda']:g} | original, stage-1 weights | {full:.3f} | "
                         f"{o['stage1']['psnr']:.2f} | {o['stage1']['bpp']:.4f} |")
        lines.append(f"| {s['lambda']:g} | original, shared (stage-2) weights | {full:.3f} | "
                     f"{o['psnr']:.2f} | {o['bpp']:.4f} |")
        for t in s["targets"]:
            for side in ("chosen", "uniform"):
                if t.get(side):
                    f = t[side]
                    extra = f" (width {f['width']:g})" if side == "uniform" else ""
                    lines.append(f"| {s['lambda']:g} | {side} @{t['target_gmacs']:g}{extra} | "
                                 f"{f['gmacs']:.3f} | {f['psnr']:.2f} | {f['bpp']:.4f} |")
    return lines


def bd_rows(folder: Path) -> list[str]:
    table = pd.read_csv(folder / "bd.csv")
    rows = table[(table["class"] == "(mean over classes)") & (table["metric"] == "psnr")]
    lines = ["| test | anchor | BD-rate % [95%] | BD-PSNR dB [95%] | dB at equal bpp [95%] | units |",
             "| --- | --- | --- | --- | --- | --- |"]
    for _, r in rows.iterrows():
        cells = [f"{r[c]:+.2f} [{r[c + '_low']:+.2f}, {r[c + '_high']:+.2f}] {r[c + '_verdict']}"
                 for c in ("bd_rate", "bd_quality", "d_quality_at_bpp")]
        lines.append(f"| {r['test']} | {r['anchor']} | " + " | ".join(cells) + f" | {r['units']} |")
    return lines


def main(argv: list[str]) -> int:
    args = dict(a.partition("=")[::2] for a in argv)
    if "run" in args:
        print("\n".join(lambda_rows(Path(args["run"]))) + "\n")
    for folder in filter(None, args.get("compare", "").split(",")):
        print("\n".join(bd_rows(Path(folder))) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
