"""The anchor job: a classical codec over its quality sweep on test sequences, written as the
evaluation job writes a learned codec's RD curve (``frames.csv``, ``sequences.csv``, ``classes.csv``,
RD plots), so ``python -m search.compare <anchor> <run>`` gives BD figures against it.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..config import Config
from ..data import open_test_set
from ..evaluation import Protocol
from ..evaluation.classical import (check_available, check_qualities, check_sources,
                                    classical_codec, evaluate_classical)
from ..paths import RESULTS_DIR
from .eval_job import write_eval


def run_anchor(cfg: Config) -> tuple[Path, Path, pd.DataFrame, dict[str, pd.DataFrame]]:
    """(folder, per-frame CSV, per-frame table, the other tables) of the anchor ``cfg.anchors``.

    Everything the user gave is checked (codec, sweep, test set) before any coding."""
    codec = classical_codec(cfg.anchors.codec)
    check_available(codec)
    values = check_qualities(codec, cfg.anchors.quality)
    protocol = Protocol.of(cfg.eval)
    sequences = open_test_set(cfg.eval.data, protocol.yuv)
    check_sources(codec, sequences)
    folder = Path(cfg.out) if cfg.out else RESULTS_DIR / "anchors" / codec.name
    frames_csv = folder / "frames.csv"
    if folder.suffix == ".csv":
        folder, frames_csv = folder.parent, folder
    frames = evaluate_classical(codec, sequences, protocol, values, cfg.anchors.speed)
    title = f"{codec.name}: {codec.settings(cfg.anchors.speed)}"
    tables = write_eval(frames, folder, frames_csv, title=title)
    return folder, frames_csv, frames, tables
