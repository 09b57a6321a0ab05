"""What every stage-2 selector gives: one level per target (GMACs, or ms under
``objective=latency``), landed exactly on it."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import BadInput
from .landing import Landing


@dataclass
class LevelResult:
    """A level: its name and target, its complexity vector, the cost before landing (in the target's
    unit), the landing and its layout; evaluation fills ``metrics``."""

    name: str
    target: float
    vector: list[float]
    argmax_value: float
    landing: Landing
    layout: dict[str, int]
    interpolated: bool = False
    metrics: dict[str, float] = field(default_factory=dict)


def check_targets(targets: list[float], low: float, high: float, key: str = "target_gmacs",
                  unit: str = "GMACs") -> list[float]:
    """Distinct targets within what the space can reach, highest first (level 1)."""
    if not targets:
        raise BadInput(f"{key}: give at least one target, e.g. {key}=[300,200,120]")
    if len(set(targets)) != len(targets):
        raise BadInput(f"{key}={targets}: duplicated targets (give distinct values)")
    for t in targets:
        if not low <= t <= high:
            raise BadInput(f"{key}={t:g} is outside what the space can reach: [{low:.3f}, {high:.3f}] "
                           f"{unit}")
    return sorted(targets, reverse=True)
