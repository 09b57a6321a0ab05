"""The comparison job: BD-rate and BD-PSNR / BD-MS-SSIM between RD curves.

Inputs are the outputs of ``python -m search.eval`` (``frames.csv``, ``sequences.csv`` or their
folder: one curve, one RD point per lambda) or the folder of a main job run with several lambdas
(``rd_points.csv``: a curve per layout). Plain inputs are each compared with the first. In a main
job's folder, every supernet level is compared with the original full decoder, and each target's
chosen architecture with the uniform slimming at the same GMACs.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..config import CompareConfig
from ..errors import BadInput
from ..evaluation import bd_table, per_sequence
from ..files import atomic_write
from ..reports import plot_rd

RD_POINTS = "rd_points.csv"
NEEDED = ("lambda", "class", "sequence", "bpp", "psnr")


def _read_table(path: Path) -> pd.DataFrame:
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError) as err:
        raise BadInput(f"{path}: cannot be read as CSV ({str(err).splitlines()[0]})") from None
    missing = [c for c in NEEDED if c not in table.columns]
    if missing:
        raise BadInput(f"{path}: no column {missing[0]!r}; expected an output of python -m search.eval "
                       f"(frames.csv or sequences.csv)")
    return per_sequence(table) if "frame" in table.columns else table


def load_curves(spec: str) -> dict[str, pd.DataFrame]:
    """Label -> per-sequence table (one row per lambda and sequence) of one input."""
    path = Path(spec).expanduser()
    if path.is_dir() and (path / RD_POINTS).is_file():
        points = _read_table_layouts(path / RD_POINTS)
        return {str(label): rows.drop(columns="layout") for label, rows in points.groupby("layout",
                                                                                          sort=False)}
    if path.is_dir():
        path = path / "frames.csv"
    if not path.is_file():
        raise BadInput(f"{spec}: no such file (expected frames.csv or sequences.csv of python -m "
                       f"search.eval, their folder, or a main job's folder with {RD_POINTS})")
    label = path.parent.name if path.stem in ("frames", "sequences") else path.stem
    return {label: _read_table(path)}


def _read_table_layouts(path: Path) -> pd.DataFrame:
    table = pd.read_csv(path)
    if "layout" not in table.columns:
        raise BadInput(f"{path}: no column 'layout'")
    return table


def comparisons(inputs: list[str]) -> list[tuple[str, pd.DataFrame, str, pd.DataFrame]]:
    """(anchor label, anchor, test label, test) pairs to compare."""
    if len(inputs) == 1:
        curves = load_curves(inputs[0])
        if len(curves) == 1:
            raise BadInput(f"{inputs[0]}: one curve; give two inputs or more (the first is the anchor), "
                           f"or a main job's folder run with several lambdas")
        return _within_run(curves)
    loaded = [load_curves(spec) for spec in inputs]
    if any(len(c) != 1 for c in loaded):
        raise BadInput("a main job's folder compares its own layouts: give it alone")
    (anchor_name, anchor), = loaded[0].items()
    return [(anchor_name, anchor, name, table) for curves in loaded[1:] for name, table in curves.items()]


def _within_run(curves: dict[str, pd.DataFrame]) -> list[tuple[str, pd.DataFrame, str, pd.DataFrame]]:
    pairs = [("Original", curves["Original"], name, table) for name, table in curves.items()
             if name.startswith("Level")] if "Original" in curves else []
    for name, table in curves.items():
        if name.startswith("Chosen @"):
            uniform = "Uniform @" + name.split("@", 1)[1]
            if uniform in curves:
                pairs.append((uniform, curves[uniform], name, table))
    return pairs


def run_compare(cfg: CompareConfig, out: Path) -> pd.DataFrame:
    """Every comparison's BD table (PSNR and MS-SSIM where present), written as ``bd.csv`` with an RD
    plot per class of every curve involved."""
    if not cfg.inputs:
        raise BadInput("give the curves to compare: python -m search.compare A B ... (the first is the "
                       "anchor)")
    pairs = comparisons(cfg.inputs)
    tables = [bd_table(anchor, test, metric, cfg.method, (a_name, t_name))
              for a_name, anchor, t_name, test in pairs for metric in ("psnr", "ms_ssim")
              if metric in anchor.columns and metric in test.columns]
    result = pd.concat(tables, ignore_index=True)
    atomic_write(out / "bd.csv", result.to_csv(index=False))
    curves = {name: table for a, at, t, tt in pairs for name, table in ((a, at), (t, tt))}
    for group in dict.fromkeys(g for table in curves.values() for g in table["class"]):
        lines = {name: _class_curve(table, group) for name, table in curves.items()}
        plot_rd({k: v for k, v in lines.items() if v}, out / f"rd_{group}", metric="psnr",
                title=f"{group}: PSNR against bpp")
    return result


def _class_curve(table: pd.DataFrame, group: str) -> list[tuple[float, float]]:
    rows = table[table["class"] == group].groupby("lambda")[["bpp", "psnr"]].mean()
    return list(zip(rows["bpp"], rows["psnr"]))
