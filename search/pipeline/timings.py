"""Decoders timed beside their GMACs: what a job reports of each decoder's cost.

Under ``objective=latency`` every reported decoder carries its closed-form GMACs, the table's predicted
decode time and (with ``job.timing``) its measured decode time and how far that lands from its target;
under ``objective=gmacs`` with ``measure_time=true``, its measured time. Without timing nothing is
added, so a GMAC job's summaries keep their keys.

A decoder is timed with its own weights: the levels, the original and the uniform readings sliced from
the shared weights, each fine-tuned side and each exported decoder with its fine-tuned ones. Weights
move time: FVC's deformable convolution gathers its input at offsets the weights compute, and the
chosen FVC decoder at 700 ms decoded 6-10% faster with its trained weights than with random ones
(three processes, this CPU).
"""
from __future__ import annotations

from typing import Mapping

import torch

from ..nn.layers import load_sliced
from ..stage2 import LevelResult
from ..timing import DecoderTiming, measure_decoder_ms
from .job import Job


def cost_figures(job: Job, layout: Mapping[str, int], target: float | None = None,
                 model: torch.nn.Module | None = None) -> dict[str, float]:
    """GMACs, predicted and measured ms of the decoder at ``layout`` (see the module doc).
    ``model``: that decoder with its own weights (a fine-tuned side, or one loaded back from its
    exported files), timed itself; else it is timed sliced from the shared weights (:func:`timed`)."""
    figures: dict[str, float] = {}
    if job.on_time:
        figures["gmacs"] = job.complexity.gmacs(layout)
        figures["predicted_ms"] = job.cost.of_layout(layout)
    if job.timing is not None:
        timing = timed(job, layout) if model is None else \
            measure_decoder_ms(job.space, dict(layout), job.profile.resolution, job.timing, model)
        figures["measured_ms"] = timing.median_ms
        figures["measured_min_ms"], figures["measured_max_ms"] = timing.min_ms, timing.max_ms
        if job.on_time and target:
            figures["measured_distance"] = (timing.median_ms - target) / target
    return figures


def timed(job: Job, layout: Mapping[str, int]) -> DecoderTiming:
    """The decoder at ``layout`` timed once per job (a level and the architecture chosen at its target
    are often one layout), sliced from the shared weights once they are trained (else the seed's)."""
    key = tuple(sorted(layout.items()))
    if key not in job.timings:
        weights = None if job.shared is None else load_sliced(job.space.codec(dict(layout)), job.shared)
        job.timings[key] = measure_decoder_ms(job.space, dict(layout), job.profile.resolution, job.timing,
                                              weights)
    return job.timings[key]


def objective_record(job: Job) -> dict:
    """The summary's ``objective`` (name, unit, how the targets are measured, how decoders were
    timed) under ``objective=latency``; nothing under GMACs, whose summaries keep their keys."""
    if not job.on_time:
        return {}
    return {"objective": {"name": "latency", "key": job.cost.name, "unit": job.cost.unit,
                          "targets_measured_by": "decode time predicted by the measured per-layer table",
                          "timing": job.timing.as_dict() if job.timing else None}}


def time_levels(job: Job, levels: list[LevelResult]) -> dict[str, float]:
    """Each level's cost figures into its ``metrics``; the full decoder's returned."""
    for level in levels:
        level.metrics.update(cost_figures(job, level.layout, level.target))
    return cost_figures(job, job.space.full_layout())
