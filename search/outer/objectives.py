"""What the outer search minimises: each objective a small record the study reads.

The study's directions, metric names and the values it tells Optuna come from :func:`objectives_of`,
in order: the search's cost (closed-form GMACs, or the decode time predicted by a measured table under
``objective=latency``), then the RD loss. The cost's value is also the one constraint (a trial serves
at least one target: see :mod:`search.outer`), and both costs are recorded with every trial when they
differ, so that GMACs and time stand side by side in ``trials.csv``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from .scorer import Score


@dataclass(frozen=True)
class Objective:
    """One objective of the study: its metric name (a key of the trials' figures), its unit (for
    reports), its direction and how it is measured."""

    name: str
    unit: str
    direction: str = "minimize"
    measured_by: str = ""

    def __post_init__(self):
        if self.direction not in ("minimize", "maximize"):
            raise ValueError(f"objective {self.name}: direction {self.direction!r}: expected "
                             f"'minimize' or 'maximize'")


#: the RD loss R + lambda * MSE (cgSlimDecoder supplementary, Eq. 1)
RD_LOSS = Objective("rd_loss", "bpp + lambda*MSE", measured_by="the shared weights on the validation "
                                                                "batches")
#: each cost a search can run under, by its name (:class:`search.complexity.Cost`'s ``name``)
COSTS = {"gmacs": Objective("gmacs", "GMACs", measured_by="closed form of the fvcore profile"),
         "ms": Objective("ms", "ms", measured_by="decode time predicted by the measured per-layer table")}


def objectives_of(cost_name: str = "gmacs", extra: Sequence[str] = ()) -> tuple[Objective, ...]:
    """The study's objectives, in order: the cost named ``cost_name``, the RD loss, then the costs
    named in ``extra`` (``objective=latency pareto_gmacs=true``: GMACs, a third objective)."""
    return (COSTS[cost_name], RD_LOSS, *(COSTS[name] for name in extra if name != cost_name))


#: the GMAC search's objectives (the default)
OBJECTIVES: tuple[Objective, ...] = objectives_of("gmacs")


def constraint_key(cost_name: str = "gmacs") -> str:
    """The one constraint: a trial serves at least one target (see :mod:`search.outer`)."""
    return f"{cost_name}<=max_target"


CONSTRAINT_KEY = constraint_key("gmacs")


def objective_values(costs: Mapping[str, float], score: Score,
                     objectives: Sequence[Objective] = OBJECTIVES) -> list[float]:
    """The values of ``objectives``, in their order, for a layout of ``costs`` scored ``score``."""
    measured = {**costs, "rd_loss": score.rd_loss}
    return [measured[o.name] for o in objectives]


def attributes(costs: Mapping[str, float], score: Score, targets: Sequence[float],
               cost_name: str = "gmacs") -> dict[str, Any]:
    """A scored trial's user attributes: its costs and figures and, per target, its gap and
    feasibility (in the search's cost)."""
    out: dict[str, Any] = {**costs, "rd_loss": score.rd_loss, "bpp": score.bpp,
                           "psnr": score.psnr, "mse": score.mse, "score_s": score.seconds,
                           "rd_noise": score.noise, "batch_losses": list(score.batch_losses)}
    value = costs[cost_name]
    for t in targets:
        out[f"gap@{t:g}"] = value - t
        out[f"feasible@{t:g}"] = bool(value <= t)
    return out
