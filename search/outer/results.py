"""What a study leaves: every finished trial as a table, and per target the chosen architecture."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd
from optuna.trial import TrialState

from ..complexity import Complexity
from ..space import Space
from .study import layout_of_params, param_names


@dataclass
class Chosen:
    """The architecture chosen for one target: the feasible trial with the lowest RD loss."""

    target: float
    number: int
    gmacs: float
    rd_loss: float
    bpp: float
    psnr: float
    source: str
    name: str
    layout: dict[str, int]


@dataclass
class StudyResult:
    """What :func:`run_study` leaves: per target the chosen architecture (None: no feasible trial),
    every finished trial as a DataFrame (the caller writes it as ``trials.csv``), and timings."""

    path: Path
    targets: list[float]
    chosen: dict[float, Chosen | None]
    trials: pd.DataFrame
    new_trials: int
    timing: dict[str, float] = field(default_factory=dict)


def trials_frame(study, space: Space, targets: Sequence[float]) -> pd.DataFrame:
    """Every COMPLETE trial: number, gmacs, rd_loss, bpp, psnr, feasible@<t>, source, name, params."""
    rows = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        gmacs, loss = t.values
        row = {"number": t.number, "gmacs": gmacs, "rd_loss": loss,
               "bpp": t.user_attrs.get("bpp", float("nan")),
               "psnr": t.user_attrs.get("psnr", float("nan"))}
        for target in targets:
            row[f"feasible@{target:g}"] = bool(gmacs <= target)
        row["source"] = t.user_attrs.get("source", "sampled")
        row["name"] = t.user_attrs.get("name", "")
        row["params"] = json.dumps({n: int(t.params[n]) for n in param_names(space)})
        rows.append(row)
    columns = ["number", "gmacs", "rd_loss", "bpp", "psnr"] + \
        [f"feasible@{t:g}" for t in targets] + ["source", "name", "params"]
    return pd.DataFrame(rows, columns=columns).sort_values("number").reset_index(drop=True)


def choose(frame: pd.DataFrame, space: Space, targets: Sequence[float]) -> dict[float, Chosen | None]:
    """Per target, the feasible trial (gmacs <= target) with the lowest RD loss (ties: fewer GMACs)."""
    out: dict[float, Chosen | None] = {}
    for t in targets:
        ok = frame[frame["gmacs"] <= t]
        if ok.empty:
            out[t] = None
            continue
        best = ok.sort_values(["rd_loss", "gmacs", "number"]).iloc[0]
        params = json.loads(best["params"])
        out[t] = Chosen(t, int(best["number"]), float(best["gmacs"]), float(best["rd_loss"]),
                        float(best["bpp"]), float(best["psnr"]), str(best["source"]),
                        str(best["name"]), layout_of_params(space, params))
    return out


def best_postfix(study, targets: Sequence[float]) -> dict[str, str]:
    best = {t: math.inf for t in targets}
    for tr in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        for t in targets:
            if tr.values[0] <= t:
                best[t] = min(best[t], tr.values[1])
    return {f"best@{t:g}": ("-" if math.isinf(v) else f"{v:.4g}") for t, v in best.items()}


def first_layouts(space: Space, supernet: Sequence[tuple[str, Mapping[str, int]]] = ()
                  ) -> list[tuple[str, str, dict[str, int]]]:
    """(source, name, layout) of the trials enqueued first: the supernet's level layouts, then every
    uniform-slimming layout (each choice at the same option index)."""
    out = [("enqueued-supernet", name, dict(layout)) for name, layout in supernet]
    count = max(space.group_sizes, default=1)
    out += [("enqueued-uniform", f"Uniform {i + 1}/{count}", space.uniform_layout(i))
            for i in range(count)]
    return out


def uniform_below(space: Space, complexity: Complexity, target: float) -> tuple[str, dict[str, int]] | None:
    """The uniform-slimming layout (every choice at the same option) with the most GMACs <= target."""
    count = max(space.group_sizes, default=1)
    candidates = [(f"uniform {i + 1}/{count}", space.uniform_layout(i)) for i in range(count)]
    below = [(n, lay) for n, lay in candidates if complexity.gmacs(lay) <= target]
    return max(below, key=lambda item: complexity.gmacs(item[1])) if below else None
