"""What a study leaves: every finished trial as a table, and per target the chosen architecture."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from optuna.trial import TrialState

from ..space import Space
from .bands import Band
from .scorer import standard_error
from .study import layout_of_params, param_names, params_of


@dataclass
class Chosen:
    """The architecture chosen for one target (see :func:`choose`).

    ``noise``: the standard error of its RD loss over the validation batches; ``margin``: its RD loss
    minus the supernet level's, paired over the same batches (negative: better), with ``margin_noise``
    the standard error of that paired difference; ``note`` says why it was chosen.
    """

    target: float
    number: int
    gmacs: float
    rd_loss: float
    bpp: float
    psnr: float
    source: str
    name: str
    layout: dict[str, int]
    noise: float = float("nan")
    margin: float = float("nan")
    margin_noise: float = float("nan")
    note: str = ""


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
    """Every COMPLETE trial: number, gmacs, rd_loss (and its noise, its batches), bpp, psnr,
    feasible@<t>, source, band, name, params."""
    rows = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        gmacs, loss = t.values
        row = {"number": t.number, "gmacs": gmacs, "rd_loss": loss,
               "rd_noise": t.user_attrs.get("rd_noise", float("nan")),
               "bpp": t.user_attrs.get("bpp", float("nan")),
               "psnr": t.user_attrs.get("psnr", float("nan"))}
        for target in targets:
            row[f"feasible@{target:g}"] = bool(gmacs <= target)
        row["source"] = t.user_attrs.get("source", "sampled")
        row["band"] = t.user_attrs.get("band", float("nan"))
        row["node"] = t.user_attrs.get("node", "")
        row["name"] = t.user_attrs.get("name", "")
        row["weights_sha256"] = t.user_attrs.get("weights_sha256", "")
        row["batch_losses"] = json.dumps(t.user_attrs.get("batch_losses", [loss]))
        row["params"] = json.dumps({n: int(t.params[n]) for n in param_names(space)})
        rows.append(row)
    columns = ["number", "gmacs", "rd_loss", "rd_noise", "bpp", "psnr"] + \
        [f"feasible@{t:g}" for t in targets] + ["source", "band", "node", "name", "weights_sha256",
                                                 "batch_losses", "params"]
    return pd.DataFrame(rows, columns=columns).sort_values("number").reset_index(drop=True)


def _chosen(row: pd.Series, space: Space, target: float, note: str, margin: float = float("nan"),
            margin_noise: float = float("nan")) -> Chosen:
    return Chosen(target, int(row["number"]), float(row["gmacs"]), float(row["rd_loss"]),
                  float(row["bpp"]), float(row["psnr"]), str(row["source"]), str(row["name"]),
                  layout_of_params(space, json.loads(row["params"])), float(row["rd_noise"]), margin,
                  margin_noise, note)


def _paired(a: pd.Series, b: pd.Series) -> tuple[float, float]:
    """(mean, standard error) of the batch-by-batch RD loss difference of ``a`` minus ``b``."""
    diff = np.array(json.loads(a["batch_losses"])) - np.array(json.loads(b["batch_losses"]))
    return float(diff.mean()), standard_error(diff)


def choose(frame: pd.DataFrame, space: Space, targets: Sequence[float],
           defaults: Mapping[float, Mapping[str, int]] | None = None,
           bands: Sequence[Band] = ()) -> dict[float, Chosen | None]:
    """Per target: the supernet's landed level (``defaults``) unless a trial in the same band has a
    lower RD loss by more than twice the standard error of their paired difference over the
    validation batches. Without a default, the trial of the band with the lowest RD loss; with nothing
    in the band, the feasible trial with the lowest RD loss (and the note says so)."""
    band_of = {band.target: band for band in bands}
    out: dict[float, Chosen | None] = {}
    for t in targets:
        band = band_of.get(t, Band(t, float("-inf")))
        inside = frame[(frame["gmacs"] >= band.low) & (frame["gmacs"] <= t)]
        feasible = frame[frame["gmacs"] <= t]
        default = _trial_of(frame, space, (defaults or {}).get(t))
        if feasible.empty:
            out[t] = None
        elif inside.empty:
            best = feasible.sort_values(["rd_loss", "gmacs", "number"]).iloc[0]
            out[t] = _chosen(best, space, t, f"no trial within the band [{band.low:.3f}, {t:g}]: the "
                                             f"feasible trial with the lowest RD loss")
        else:
            out[t] = _choose_in_band(inside.sort_values(["rd_loss", "gmacs", "number"]), default, space, t)
    return out


def _trial_of(frame: pd.DataFrame, space: Space, layout: Mapping[str, int] | None) -> pd.Series | None:
    if layout is None:
        return None
    params = json.dumps({n: int(i) for n, i in params_of(space, layout).items()})
    rows = frame[frame["params"] == params]
    return None if rows.empty else rows.iloc[0]


def _choose_in_band(ranked: pd.DataFrame, default: pd.Series | None, space: Space, t: float) -> Chosen:
    best = ranked.iloc[0]
    if default is None or float(default["gmacs"]) > t:
        return _chosen(best, space, t, "the lowest RD loss in the band (no supernet level to prefer)")
    if int(best["number"]) == int(default["number"]):
        return _chosen(default, space, t, "the supernet's landed level: the lowest RD loss in its band",
                       0.0, 0.0)
    margin, noise = _paired(best, default)
    if margin < -2 * noise:
        return _chosen(best, space, t, f"trial {int(best['number'])} beats the supernet's level by "
                                       f"{-margin:.4g} RD loss, more than twice its noise ({noise:.3g})",
                       margin, noise)
    return _chosen(default, space, t, f"the supernet's landed level: trial {int(best['number'])}'s "
                                      f"{-margin:.4g} lower RD loss is within the noise ({noise:.3g} "
                                      f"standard error, paired over the validation batches)", 0.0, noise)


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
