"""What the outer search minimises: each objective a small record the study reads.

The study's directions, metric names and the values it tells Optuna come from :data:`OBJECTIVES`, in
order; a further objective (say, measured decode time) is one more record and one more value in
:meth:`Objective.value`'s caller.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from .scorer import Score

#: the one constraint: a trial serves at least one target (see :mod:`search.outer`)
CONSTRAINT_KEY = "gmacs<=max_target"


@dataclass(frozen=True)
class Objective:
    """One objective of the study: its metric name, its unit (for reports) and its direction."""

    name: str
    unit: str
    direction: str = "minimize"

    def __post_init__(self):
        if self.direction not in ("minimize", "maximize"):
            raise ValueError(f"objective {self.name}: direction {self.direction!r}: expected "
                             f"'minimize' or 'maximize'")


#: decoder GMACs (closed form) and the RD loss R + lambda * MSE (cgSlimDecoder supplementary, Eq. 1)
OBJECTIVES: tuple[Objective, ...] = (Objective("gmacs", "GMACs"), Objective("rd_loss", "bpp + lambda*MSE"))


def objective_values(gmacs: float, score: Score) -> list[float]:
    """The values of :data:`OBJECTIVES`, in their order, for a layout of ``gmacs`` scored ``score``."""
    measured = {"gmacs": gmacs, "rd_loss": score.rd_loss}
    return [measured[o.name] for o in OBJECTIVES]


def attributes(gmacs: float, score: Score, targets: Sequence[float]) -> dict[str, Any]:
    """A scored trial's user attributes: its figures and, per target, its gap and feasibility."""
    out: dict[str, Any] = {"gmacs": gmacs, "rd_loss": score.rd_loss, "bpp": score.bpp,
                           "psnr": score.psnr, "mse": score.mse, "score_s": score.seconds,
                           "rd_noise": score.noise, "batch_losses": list(score.batch_losses)}
    for t in targets:
        out[f"gap@{t:g}"] = gmacs - t
        out[f"feasible@{t:g}"] = bool(gmacs <= t)
    return out
