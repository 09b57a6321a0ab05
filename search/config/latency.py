"""The configuration of decode time: what a search minimises, and how decoders are timed."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .fields import option

#: what stage 2 penalises and lands on and the outer loop searches under
OBJECTIVE_NAMES = ("gmacs", "latency")


@dataclass
class LatencyConfig:
    """Decode time: the per-layer lookup table a ``objective=latency`` search predicts time with, and
    how chosen decoders are timed (``python -m search.latency`` builds the same table)."""

    device: str = option("", "device the decoders are timed on: cpu, cuda or cuda:N (empty: the job's)")
    runtime: str = option("torch", "what runs the timed decoders: torch")
    threads: int = option(0, "torch CPU threads while timing (0: torch's default; the table is "
                             "measured and named per thread count)")
    precision: str = option("fp32", "arithmetic of the timed decoders: fp32, fp16 or bf16")
    repeats: int = option(5, "timed runs of each decoder and table cell (the median is kept, after "
                             "warm-up runs)")
    layouts: int = option(20, "random layouts whose whole decoders check the table's prediction")
    landing_rounds: int = option(3, "objective=latency: times each chosen decoder is moved towards its "
                                    "target's measured time (0: the table's prediction decides)")
    landing_tolerance: float = option(0.02, "objective=latency: how far (a fraction) a chosen decoder's "
                                            "measured time may lie from its target before it is moved")
    pareto_gmacs: bool = option(False, "objective=latency: GMACs as a third objective of the outer "
                                       "study (a Pareto front over time, RD loss and GMACs)")
    measure: Optional[bool] = option(None, "time every reported decoder (chosen, uniform, original) "
                                           "and report it beside its GMACs; unset: with "
                                           "objective=latency only (timing a 1080p decoder on a CPU "
                                           "takes minutes)")


def objective_targets(supernet) -> tuple[str, list[float]]:
    """The key and the values of the targets of the configured objective (``target_gmacs`` or
    ``target_ms``) of a :class:`~search.config.schema.SupernetConfig`."""
    key = "target_ms" if supernet.objective == "latency" else "target_gmacs"
    return key, [float(t) for t in getattr(supernet, key)]
