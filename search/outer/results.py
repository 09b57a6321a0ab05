"""What a study leaves: every finished trial as a table, and per target the chosen architecture."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from optuna.trial import TrialState

from ..space import Space
from .bands import Band
from ..evaluation.intervals import Interval, t_interval
from .scorer import Score, standard_error
from .study import layout_of_params, param_names, params_of

#: which validation batches a figure comes from: those that ranked the trials, or the fresh ones that
#: decided between the band's best and the level
RANKING, DECISION = "ranking", "decision"
#: the confidence of the decision: the level is replaced only when the 95% interval of the paired
#: difference lies wholly below zero (a false replacement at most 2.5% of the time)
DECISION_CONFIDENCE = 0.95


@dataclass
class Chosen:
    """The architecture chosen for one target (see :func:`choose`).

    ``rd_loss``, ``bpp``, ``psnr`` and ``noise`` (the standard error of its RD loss over the batches)
    come from the batches named by ``measured_on``: the fresh decision batches when the choice had
    them, which the ranking never saw. ``rank_rd_loss`` is its RD loss on the ranking batches (what
    ordered the trials). ``margin``: its RD loss minus the supernet level's, paired batch by batch
    (negative: better), with ``margin_noise`` the standard error of that difference and
    ``margin_interval`` its t interval and verdict word; ``note`` says why it was chosen. ``cost`` is
    in the search's cost (GMACs, or predicted ms under ``objective=latency``), ``gmacs`` always GMACs.
    """

    target: float
    number: int
    cost: float
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
    rank_rd_loss: float = float("nan")
    measured_on: str = RANKING
    margin_interval: Interval | None = None
    rivals: int = 0
    gmacs: float = float("nan")


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


def trials_frame(study, space: Space, targets: Sequence[float], cost_name: str = "gmacs") -> pd.DataFrame:
    """Every COMPLETE trial: number, its cost (``cost_name``: gmacs, or ms and then gmacs too),
    rd_loss (and its noise, its batches), bpp, psnr, feasible@<t>, source, band, name, params."""
    rows = []
    extra = [] if cost_name == "gmacs" else ["gmacs"]
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        value, loss = t.values[:2]  # a third objective (GMACs beside time) is a column already
        row = {"number": t.number, cost_name: value,
               **{k: t.user_attrs.get(k, float("nan")) for k in extra}, "rd_loss": loss,
               "rd_noise": t.user_attrs.get("rd_noise", float("nan")),
               "bpp": t.user_attrs.get("bpp", float("nan")),
               "psnr": t.user_attrs.get("psnr", float("nan"))}
        for target in targets:
            row[f"feasible@{target:g}"] = bool(value <= target)
        row["source"] = t.user_attrs.get("source", "sampled")
        row["band"] = t.user_attrs.get("band", float("nan"))
        row["node"] = t.user_attrs.get("node", "")
        row["name"] = t.user_attrs.get("name", "")
        row["weights_sha256"] = t.user_attrs.get("weights_sha256", "")
        row["batch_losses"] = json.dumps(t.user_attrs.get("batch_losses", [loss]))
        row["params"] = json.dumps({n: int(t.params[n]) for n in param_names(space)})
        rows.append(row)
    columns = ["number", cost_name, *extra, "rd_loss", "rd_noise", "bpp", "psnr"] + \
        [f"feasible@{t:g}" for t in targets] + ["source", "band", "node", "name", "weights_sha256",
                                                 "batch_losses", "params"]
    return pd.DataFrame(rows, columns=columns).sort_values("number").reset_index(drop=True)


def _cost_column(frame: pd.DataFrame) -> str:
    """The search's cost column of a trials frame: ms under ``objective=latency``, else gmacs."""
    return "ms" if "ms" in frame.columns else "gmacs"


def _chosen(row: pd.Series, space: Space, target: float, note: str) -> Chosen:
    """A trial as chosen, with its ranking figures (:func:`_measured` replaces them by fresh ones)."""
    cost = "ms" if "ms" in row.index else "gmacs"
    return Chosen(target, int(row["number"]), float(row[cost]), float(row["rd_loss"]),
                  float(row["bpp"]), float(row["psnr"]), str(row["source"]), str(row["name"]),
                  layout_of_params(space, json.loads(row["params"])), float(row["rd_noise"]), note=note,
                  rank_rd_loss=float(row["rd_loss"]), gmacs=float(row["gmacs"]))


def _losses(row: pd.Series) -> np.ndarray:
    return np.array(json.loads(row["batch_losses"]), dtype=float)


def _measured(chosen: Chosen, score: Score | None) -> Chosen:
    """``chosen`` with its figures from the decision batches (``score``), when there are any."""
    if score is None:
        return chosen
    chosen.rd_loss, chosen.bpp, chosen.psnr = score.rd_loss, score.bpp, score.psnr
    chosen.noise, chosen.measured_on = score.noise, DECISION
    return chosen


Decide = Callable[[Mapping[str, int]], Score]


def choose(frame: pd.DataFrame, space: Space, targets: Sequence[float],
           defaults: Mapping[float, Mapping[str, int]] | None = None,
           bands: Sequence[Band] = (), decide: Decide | None = None) -> dict[float, Chosen | None]:
    """Per target: rank the trials on the ranking batches (``frame``'s RD losses), then decide.

    The supernet's landed level (``defaults``) is kept unless the band's best trial beats it. With
    ``decide`` (a scorer on fresh validation batches the ranking never saw), both are scored again
    there and the best replaces the level only when the 95% t interval of their paired difference
    lies wholly below zero: selected on other data, the best is one rival, so the test holds its
    error rate (at most 2.5% false replacements when every layout is equal). Without ``decide``, the
    same test runs on the ranking batches, corrected for the band's ``k`` rivals (Bonferroni), and the
    figures are the ranking batches' (``measured_on`` says so). Without a default: the band's best;
    with nothing in the band, the feasible trial with the lowest RD loss (the note says so).
    """
    band_of = {band.target: band for band in bands}
    cost = _cost_column(frame)
    out: dict[float, Chosen | None] = {}
    for t in targets:
        band = band_of.get(t, Band(t, float("-inf")))
        inside = frame[(frame[cost] >= band.low) & (frame[cost] <= t)]
        feasible = frame[frame[cost] <= t]
        default = _trial_of(frame, space, (defaults or {}).get(t))
        if feasible.empty:
            out[t] = None
        elif inside.empty:
            best = feasible.sort_values(["rd_loss", cost, "number"]).iloc[0]
            chosen = _chosen(best, space, t, f"no trial within the band [{band.low:.3f}, {t:g}]: the "
                                             f"feasible trial with the lowest RD loss")
            out[t] = _measured(chosen, decide(chosen.layout) if decide else None)
        else:
            out[t] = _choose_in_band(inside.sort_values(["rd_loss", cost, "number"]), default, space,
                                     t, decide)
    return out


def _trial_of(frame: pd.DataFrame, space: Space, layout: Mapping[str, int] | None) -> pd.Series | None:
    if layout is None:
        return None
    params = json.dumps({n: int(i) for n, i in params_of(space, layout).items()})
    rows = frame[frame["params"] == params]
    return None if rows.empty else rows.iloc[0]


def _choose_in_band(ranked: pd.DataFrame, default: pd.Series | None, space: Space, t: float,
                    decide: Decide | None = None) -> Chosen:
    best = ranked.iloc[0]
    if default is None or float(default[_cost_column(ranked)]) > t:
        chosen = _chosen(best, space, t, "the lowest RD loss in the band (no supernet level to prefer)")
        return _measured(chosen, decide(chosen.layout) if decide else None)
    level = _chosen(default, space, t, "")
    rivals = int(len(ranked) - 1)
    if int(best["number"]) == int(default["number"]):
        level.note = f"the supernet's landed level: the lowest RD loss of its band ({rivals} rivals)"
        level.margin, level.margin_noise, level.rivals = 0.0, 0.0, rivals
        return _measured(level, decide(level.layout) if decide else None)
    rival = _chosen(best, space, t, "")
    if decide is None:
        diff, where, k = _losses(best) - _losses(default), "the ranking batches", max(rivals, 1)
        level_score = rival_score = None
    else:
        level_score, rival_score = decide(level.layout), decide(rival.layout)
        diff = np.array(rival_score.batch_losses) - np.array(level_score.batch_losses)
        where, k = "fresh decision batches", 1
    interval = t_interval(diff, lower_is_better=True, confidence=DECISION_CONFIDENCE, comparisons=k)
    corrected = f", Bonferroni over {k} rivals" if k > 1 else ""
    span = (f"{interval.estimate:+.4g} RD loss on {where}, {interval.confidence:.0%} interval "
            f"[{interval.low:+.4g}, {interval.high:+.4g}]{corrected}")
    if interval.verdict == "better":
        chosen = _measured(rival, rival_score)
        chosen.note = (f"trial {rival.number} (best of {rivals} rivals on the ranking batches) beats the "
                       f"supernet's level: {span}")
    else:
        chosen = _measured(level, level_score)
        chosen.note = (f"the supernet's landed level: trial {rival.number} (best of {rivals} rivals on "
                       f"the ranking batches) is not distinguishable from it: {span}")
    chosen.margin = interval.estimate if chosen is rival else 0.0
    chosen.margin_noise = standard_error(diff)
    chosen.margin_interval, chosen.rivals = interval, rivals
    return chosen


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
