"""The curves a comparison reads and which pairs it compares: an output of ``python -m search.eval``
or ``search.anchors`` is one curve; a main job's folder with ``rd_points.csv`` a curve per layout; inputs
whose names differ only in ``seed<N>`` are one run's seeds. The first input is the anchor; a main job's
folder alone compares its own curves (levels with the original, each chosen with its uniform)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import BadInput
from ..evaluation import per_sequence, point_column

RD_POINTS = "rd_points.csv"
NEEDED = ("class", "sequence", "bpp", "psnr")
SEED = re.compile(r"seed(\d+)")


@dataclass
class Curve:
    """One RD curve: per-sequence figures (one row per RD point and sequence) and, where the input
    has them, per-frame (or per-image) figures for resampling GOPs."""

    label: str
    sequences: pd.DataFrame
    frames: pd.DataFrame | None = None


@dataclass
class Pair:
    """An anchor and a test curve, once per seed (the same anchor for every seed of a test run)."""

    anchor: str
    test: str
    runs: list[tuple[Curve, Curve]]


def _read_table(path: Path) -> pd.DataFrame:
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError) as err:
        raise BadInput(f"{path}: cannot be read as CSV ({str(err).splitlines()[0]})") from None
    missing = [c for c in NEEDED if c not in table.columns] + ([] if point_column(table) else ["lambda"])
    if missing:
        raise BadInput(f"{path}: no column {missing[0]!r}; expected an output of python -m search.eval "
                       f"or search.anchors (frames.csv or sequences.csv)")
    return table


def load_curves(spec: str) -> list[Curve]:
    """The curves of one input (one for an eval output, one per layout for a main job's folder)."""
    path = Path(spec).expanduser()
    if path.is_dir() and (path / RD_POINTS).is_file():
        points = _read_table_layouts(path / RD_POINTS)
        return [Curve(str(label), rows.drop(columns="layout"))
                for label, rows in points.groupby("layout", sort=False)]
    if path.is_dir():
        path = path / "frames.csv"
    if not path.is_file():
        raise BadInput(f"{spec}: no such file (expected frames.csv or sequences.csv of python -m "
                       f"search.eval, their folder, or a main job's folder with {RD_POINTS})")
    label = path.parent.name if path.stem in ("frames", "sequences") else path.stem
    table = _read_table(path)
    if "frame" in table.columns:
        return [Curve(label, per_sequence(table), table)]
    return [Curve(label, table)]


def _read_table_layouts(path: Path) -> pd.DataFrame:
    table = pd.read_csv(path)
    if "layout" not in table.columns:
        raise BadInput(f"{path}: no column 'layout'")
    return table


def expand_seeds(inputs: list[str], seeds: list[int]) -> list[str]:
    """Each input naming ``seed<N>`` once per seed of ``seeds`` (the inputs themselves without)."""
    if not seeds:
        return list(inputs)
    out = []
    for spec in inputs:
        if len(SEED.findall(spec)) == 1:
            out.extend(SEED.sub(f"seed{int(s)}", spec) for s in seeds)
        else:
            out.append(spec)
    return list(dict.fromkeys(out))


def _run_key(spec: str) -> str:
    """An input's name with its seed taken out: inputs with the same key are one run's seeds."""
    return SEED.sub("seed*", str(Path(spec).expanduser()))


def comparisons(inputs: list[str]) -> list[Pair]:
    """The pairs to compare (see the module docstring), each with one (anchor, test) per seed."""
    runs: dict[str, list[list[Curve]]] = {}
    for spec in inputs:
        runs.setdefault(_run_key(spec), []).append(load_curves(spec))
    groups = list(runs.values())
    for seeds in groups:  # one run's seeds: one label for its curves
        for curve in (c for curves in seeds for c in curves if len(seeds) > 1):
            curve.label = SEED.sub("seed*", curve.label)
    if len(groups) == 1:
        seeds = groups[0]
        if all(len(curves) == 1 for curves in seeds):
            raise BadInput(f"{inputs[0]}: one curve; give two inputs or more (the first is the anchor), "
                           f"or a main job's folder run with several lambdas")
        return _within_run(seeds)
    anchors = groups[0]
    if len(anchors) != 1 or len(anchors[0]) != 1:
        raise BadInput(f"{inputs[0]}: the anchor must be one curve (an output of search.eval or "
                       f"search.anchors), not a main job's folder or several seeds")
    anchor = anchors[0][0]
    pairs = []
    for seeds in groups[1:]:
        for label in dict.fromkeys(c.label for curves in seeds for c in curves):
            runs_of = [(anchor, c) for curves in seeds for c in curves if c.label == label]
            pairs.append(Pair(anchor.label, label, runs_of))
    return pairs


def _within_run(seeds: list[list[Curve]]) -> list[Pair]:
    """Each level against the original decoder, each chosen against the uniform at its GMACs."""
    named = [{c.label: c for c in curves} for curves in seeds]
    labels = list(dict.fromkeys(label for curves in named for label in curves))
    pairs = []
    for label in labels:
        if label.startswith("Level"):
            anchor = "Original"
        elif label.startswith("Chosen @"):
            anchor = "Uniform @" + label.split("@", 1)[1]
        else:
            continue
        runs = [(curves[anchor], curves[label]) for curves in named if anchor in curves and label in curves]
        if runs:
            pairs.append(Pair(anchor, label, runs))
    return pairs
