"""Landing on measured decode time: the table predicts, the clock decides (``objective=latency``).

The outer loop searches layouts whose *predicted* decode time lies in a target's band. The table
predicts a layout it never timed with an error of about 10% (on this CPU), and the search makes that
error one-sided: among the layouts predicted inside the band it keeps the one that decodes best, and
a wider layout whose time the table underestimates decodes better (the winner's curse). So before the
verdict, each chosen decoder is timed; while its measured time lies more than ``landing_tolerance``
from the target it is moved, up to ``landing_rounds`` times: re-landed with the fewest option changes
from the outer loop's choice (the exact landing of :mod:`search.stage2.landing`) on the predicted time
``target * predicted / measured`` (the table's error at the last layout, divided out), and timed
again. The round measured nearest the target is kept (one within the tolerance first), and a moved
layout is scored again on the decision batches.

The uniform side is then read at the chosen decoder's *measured* time, not its predicted one: the
uniform reading's predicted time is scaled by chosen measured / uniform measured, a few times, so
the comparison is at equal decode time on this machine.

Every time here is measured in this process, on decoders sliced from the shared weights (FVC's
deformable convolution gathers at offsets its weights compute: random weights time it wrongly); the
chosen decoder is timed once more after its fine-tuning and export, loaded back from its files
(:func:`search.pipeline.main_job.export_chosen`).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from ..complexity import Cost
from ..outer import Band, BandProjector, Chosen, LayoutScorer, uniform_at
from ..space import Space
from .job import Job
from .timings import timed

#: rounds of the uniform side's reading moved towards the chosen decoder's measured time
UNIFORM_ROUNDS = 3


@dataclass(frozen=True)
class ClockRound:
    """One layout tried: the predicted time it was landed on (``aim_ms``), its own predicted and its
    measured time."""

    layout: dict[str, int]
    aim_ms: float
    predicted_ms: float
    measured_ms: float

    def distance(self, target: float) -> float:
        return (self.measured_ms - target) / target

    def as_dict(self, target: float) -> dict[str, float]:
        return {"aim_ms": self.aim_ms, "predicted_ms": self.predicted_ms, "measured_ms": self.measured_ms,
                "measured_distance": self.distance(target)}


@dataclass
class ClockLanding:
    """The chosen decoder after landing on measured time: ``chosen`` (moved or not), the rounds tried
    and the one kept."""

    chosen: Chosen
    rounds: list[ClockRound]
    kept: int
    tolerance: float

    @property
    def measured_ms(self) -> float:
        return self.rounds[self.kept].measured_ms

    def summary(self) -> dict[str, Any]:
        target = self.chosen.target
        return {"tolerance": self.tolerance, "kept_round": self.kept,
                "moved": self.kept > 0, "rounds": [r.as_dict(target) for r in self.rounds]}


def layout_digest(layout: Mapping[str, int]) -> str:
    """Eight hex digits naming a layout (fine-tuning folders of moved layouts)."""
    text = json.dumps({k: int(v) for k, v in sorted(layout.items())})
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _kept(rounds: list[ClockRound], target: float, tolerance: float) -> int:
    """The round within the tolerance (the first), else the one measured nearest the target."""
    return min(range(len(rounds)), key=lambda i: (abs(rounds[i].distance(target)) > tolerance,
                                                  abs(rounds[i].distance(target)), i))


def clock_rounds(space: Space, cost: Cost, layout: Mapping[str, int], target: float,
                 clock: Callable[[dict[str, int]], float], rounds: int, tolerance: float,
                 band_tolerance: float) -> tuple[list[ClockRound], int]:
    """The layouts tried from ``layout`` until one measures (``clock``: ms) within ``tolerance`` of
    ``target``, at most ``rounds`` moves; and the index of the one kept (see the module doc).
    Each move lands, with the fewest option changes from ``layout``, within ``band_tolerance``
    below its aim."""
    projector = BandProjector(cost, [], band_tolerance)
    start = space.choice_of(layout)
    tried = [ClockRound(dict(layout), cost.of_layout(layout), cost.of_layout(layout), clock(dict(layout)))]
    seen = {layout_digest(layout)}
    while len(tried) <= rounds and abs(tried[-1].distance(target)) > tolerance:
        last = tried[-1]
        aim = last.predicted_ms * target / last.measured_ms
        moved = space.layout_of(projector.project(start, Band(aim, (1 - band_tolerance) * aim)))
        digest = layout_digest(moved)
        if digest in seen:
            break
        seen.add(digest)
        tried.append(ClockRound(moved, aim, cost.of_layout(moved), clock(moved)))
    return tried, _kept(tried, target, tolerance)


def land_on_clock(job: Job, chosen: Chosen, decide: LayoutScorer) -> ClockLanding:
    """``chosen`` moved until its measured decode time is within ``latency.landing_tolerance`` of its
    target (see the module doc), timed in this process."""
    settings = job.cfg.latency
    tried, kept = clock_rounds(job.space, job.cost, chosen.layout, chosen.target,
                               lambda layout: timed(job, layout).median_ms, settings.landing_rounds,
                               settings.landing_tolerance, job.cfg.supernet.tolerance)
    return ClockLanding(_moved(job, chosen, tried[kept], decide) if kept else chosen, tried, kept,
                        settings.landing_tolerance)


def _moved(job: Job, chosen: Chosen, kept: ClockRound, decide: LayoutScorer) -> Chosen:
    """``chosen`` at the kept round's layout, scored again on the decision batches; its margins over
    the supernet level were the outer loop's layout's and are dropped."""
    score = decide(kept.layout)
    note = (f"{chosen.note}; moved from the outer loop's layout (measured "
            f"{timed(job, chosen.layout).median_ms:.1f} ms) to land on measured time "
            f"(measured {kept.measured_ms:.1f} ms, predicted {kept.predicted_ms:.1f} ms)")
    return dataclasses.replace(
        chosen, layout=dict(kept.layout), cost=kept.predicted_ms, gmacs=job.complexity.gmacs(kept.layout),
        rd_loss=score.rd_loss, bpp=score.bpp, psnr=score.psnr, noise=score.noise, note=note,
        margin=float("nan"), margin_noise=float("nan"), margin_interval=None,
        source=f"{chosen.source}, moved to measured time ({layout_digest(kept.layout)})")


def uniform_reading_ms(job: Job, measured_ms: float, predicted_ms: float, gap: float) -> float:
    """The predicted time at which the uniform side is read so that its measured time is within half
    the landing tolerance of ``measured_ms`` (the chosen decoder's), starting from ``predicted_ms``;
    ``gap``: how far below the reading the uniform layout may stop before the verdict reads between it
    and the next wider one."""
    measure = _uniform_clock(job, gap)
    at, full = predicted_ms, job.cost.of_layout(job.space.full_layout())
    close = job.cfg.latency.landing_tolerance * measured_ms / 2
    for _ in range(UNIFORM_ROUNDS):
        uniform_ms = measure(at)
        if uniform_ms is None or abs(uniform_ms - measured_ms) <= close:
            break
        at = min(at * measured_ms / uniform_ms, full)
    return at


def _uniform_clock(job: Job, gap: float) -> Callable[[float], float | None]:
    """The measured time of the uniform reading at a predicted time (linear in the prediction between
    the layout below and the wider one, as the verdict reads it)."""
    def measure(at: float) -> float | None:
        uniform = uniform_at(job.space, job.cost, at)
        if uniform is None:
            return None
        below = timed(job, uniform.layout).median_ms
        if uniform.wider is None or uniform.cost >= at * (1 - gap):
            return below
        wider_cost = job.cost.of_layout(uniform.wider)
        w = (at - uniform.cost) / (wider_cost - uniform.cost)
        return (1 - w) * below + w * timed(job, uniform.wider).median_ms
    return measure
