"""Measuring a latency table, and keeping it: :func:`load_or_measure_latency` mirrors the GMAC
profile's :func:`search.complexity.load_or_measure`.

The design layouts are every uniform layout (``space.uniform_layout(i)`` for each option index) and
``layouts // 2`` seeded random ones, picked from a random pool for the module cells they reach; each is timed in context (:mod:`.clock`), giving each module's
cells and one whole-decoder time that the calibration is fitted on. ``layouts`` further seeded
random layouts, disjoint from the design set where the space has enough layouts, are timed whole
to measure the error of the prediction, with and without the calibration.

What is timed is the decoder side, ``codec.decode`` on the codec's example inputs: entropy decoding
(CompressAI's rANS decoders, and DCVC's autoregressive context models between its steps) is not in
the table.
"""
from __future__ import annotations

import os
import platform
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from tqdm import tqdm

from ..config.values import format_resolution
from ..files import atomic_write
from ..paths import PROFILE_DIR
from ..space import Space
from .clock import DecoderRun, DecoderTiming, LayoutTiming, time_in_context
from .fit import calibrate, module_cells, module_widths, relative_errors, sum_ms
from .allocator import steady_allocator
from .settings import LatencySettings, torch_threads
from .table import LatencyTable, LayoutRecord, ModuleCells, latency_path, width_value


def design_choices(space: Space, settings: LatencySettings) -> list[tuple[list[int], str]]:
    """The uniform layouts, then ``max(2, layouts // 2)`` seeded random ones (no layout twice), each
    the one of a seeded random pool that reaches the most module cells not yet reached: the fewer
    cells the fit must fill, the better the table."""
    sizes = space.group_sizes
    chosen = [([min(i, n - 1) for n in sizes], "uniform") for i in range(max(sizes))]
    count = max(2, settings.layouts // 2)
    rng = np.random.default_rng([settings.seed, 0])
    pool = _distinct(space, rng, 20 * count, [c for c, _ in chosen])
    widths = module_widths(space)
    covered = set().union(*(_cells_of(space, widths, c) for c, _ in chosen))
    for _ in range(count):
        gains = [len(_cells_of(space, widths, c) - covered) for c in pool]
        best = pool.pop(int(np.argmax(gains)))
        covered |= _cells_of(space, widths, best)
        chosen.append((best, "random"))
    return chosen


def _cells_of(space: Space, widths: Sequence[ModuleCells], choice: list[int]) -> set[tuple]:
    """The (module, a, b) cells a layout reaches."""
    layout = space.layout_of(choice)
    return {(m.path, width_value(m.a, layout), width_value(m.b, layout)) for m in widths}


def heldout_choices(space: Space, settings: LatencySettings, taken: Sequence[list[int]]) -> list[list[int]]:
    """``layouts`` seeded random layouts outside ``taken`` as far as the space allows."""
    return _distinct(space, np.random.default_rng([settings.seed, 1]), settings.layouts, taken)


def _distinct(space: Space, rng: np.random.Generator, count: int, taken: Sequence[list[int]]
              ) -> list[list[int]]:
    """``count`` random choices not in ``taken`` nor repeated; once a small space runs out after
    many draws, repeats of ``taken`` are allowed (never of each other while new ones exist)."""
    seen, out = {tuple(c) for c in taken}, []
    for _ in range(50):
        for row in space.random_choices(4 * count, rng).tolist():
            if len(out) < count and tuple(row) not in seen:
                seen.add(tuple(row))
                out.append(row)
    while len(out) < count:  # the space has fewer layouts than asked for
        out.append(space.random_choices(1, rng)[0].tolist())
    return out


def _machine(settings: LatencySettings) -> dict:
    machine = {"processor": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
               "torch_threads": torch.get_num_threads(), "platform": platform.platform(),
               "allocator": "glibc, steady (search.timing.allocator)" if steady_allocator() else "as is"}
    if settings.torch_device.type == "cuda":
        machine["gpu"] = torch.cuda.get_device_name(settings.torch_device)
    return machine


def _versions() -> dict[str, str]:
    return {"torch": torch.__version__, "python": platform.python_version(), "numpy": version("numpy")}


def _time_layouts(space: Space, resolution: tuple[int, int], settings: LatencySettings,
                  choices: Sequence[list[int]], bar: tqdm, label: str,
                  hooked: bool) -> list[LayoutTiming]:
    """Each choice's decoder built and timed (in context when ``hooked``), the bar showing its ms."""
    out = []
    for choice in choices:
        run = DecoderRun(space, space.layout_of(choice), resolution, settings)
        if hooked:
            timing = time_in_context(run)
        else:
            run.warm_up()
            timing = LayoutTiming(_whole(run), {})
        out.append(timing)
        bar.set_postfix_str(f"{label} {timing.whole.median_ms:.1f} ms")
        bar.update(1)
    return out


def _whole(run: DecoderRun) -> DecoderTiming:
    return DecoderTiming.of([run.timed_ms() for _ in range(run.settings.repeats)])


def _records(space: Space, choices: Sequence[list[int]], kinds: Sequence[str],
             timings: Sequence[LayoutTiming], modules: Sequence[ModuleCells], alpha: float, beta: float
             ) -> list[LayoutRecord]:
    """Each timed layout with its per-module sum and calibrated prediction."""
    records = []
    for choice, kind, timing in zip(choices, kinds, timings):
        total = sum_ms(modules, space.layout_of(choice))
        records.append(LayoutRecord(list(map(int, choice)), kind, timing.whole.median_ms,
                                    timing.whole.min_ms, timing.whole.max_ms, total,
                                    alpha * total + beta))
    return records


def measure_latency(space: Space, resolution: tuple[int, int], settings: LatencySettings,
                    progress: bool = True) -> LatencyTable:
    """Time the design layouts in context and the held-out layouts whole; fit cells and calibration
    (on ``settings.threads`` torch threads, restored afterwards)."""
    design = design_choices(space, settings)
    heldout = heldout_choices(space, settings, [c for c, _ in design])
    start = time.perf_counter()
    with torch_threads(settings.threads), tqdm(total=len(design) + len(heldout), desc=f"latency {space.name}",
                                               disable=not progress, dynamic_ncols=True) as bar:
        machine = _machine(settings)
        timed = _time_layouts(space, resolution, settings, [c for c, _ in design], bar, "design", True)
        modules = module_cells(space, [space.layout_of(c) for c, _ in design], [t.modules for t in timed])
        sums = [sum_ms(modules, space.layout_of(c)) for c, _ in design]
        alpha, beta = calibrate(sums, [t.whole.median_ms for t in timed])
        bar.set_description(f"latency {space.name} (alpha {alpha:.3f}, beta {beta:.1f} ms)")
        held = _time_layouts(space, resolution, settings, heldout, bar, "held-out", False)
    seconds = time.perf_counter() - start
    design_records = _records(space, [c for c, _ in design], [k for _, k in design], timed, modules,
                              alpha, beta)
    held_records = _records(space, heldout, ["random"] * len(heldout), held, modules, alpha, beta)
    return _table(space, resolution, settings, machine, seconds, modules, design_records,
                  held_records, alpha, beta)


def _table(space: Space, resolution: tuple[int, int], settings: LatencySettings, machine: dict,
           seconds: float, modules: list[ModuleCells], design: list[LayoutRecord],
           held: list[LayoutRecord], alpha: float, beta: float) -> LatencyTable:
    """The table, with the held-out errors and the measured full and smallest decoders."""
    measured = [r.measured_ms for r in held]
    plain = relative_errors([r.sum_ms for r in held], measured)
    calibrated = relative_errors([r.predicted_ms for r in held], measured)
    width, height = resolution
    padded_h, padded_w = space.codec.padded_size(height, width)
    uniform = [r for r in design if r.kind == "uniform"]
    return LatencyTable(
        space=space.name, codec=space.codec_name, resolution=(width, height), padded=(padded_w, padded_h),
        hashes=space.hashes(), settings=settings.as_dict(), machine=machine, versions=_versions(),
        seconds=seconds, modules=modules, design=design, heldout=held, alpha=alpha, beta=beta,
        errors={"plain_mean": plain[0], "plain_max": plain[1], "calibrated_mean": calibrated[0],
                "calibrated_max": calibrated[1]},
        full_ms=uniform[0].measured_ms, smallest_ms=uniform[-1].measured_ms)


def load_or_measure_latency(space: Space, resolution: tuple[int, int], settings: LatencySettings,
                            profile_dir: Path = PROFILE_DIR, write: bool = True,
                            log: Callable = print, force: bool = False) -> LatencyTable:
    """The stored table if its codec and space hashes and its settings match; otherwise (or with
    ``force``) measure it and store it."""
    path = latency_path(space, resolution, settings, profile_dir)
    where = f"{space.name} @ {format_resolution(resolution)}"
    if force:
        log(f"measuring {path} again", file=sys.stderr)
    elif path.is_file():
        table = LatencyTable.from_json(path.read_text())
        stale = [k for k in ("codec", "space") if table.hashes.get(k) != space.hashes()[k]]
        if not stale and table.settings == settings.as_dict():
            return table
        why = f"{' and '.join(stale)} file changed" if stale else "measured with other settings"
        log(f"latency table {path} is stale ({why}): measuring again", file=sys.stderr)
    else:
        log(f"no latency table {path}: measuring {where}", file=sys.stderr)
    table = measure_latency(space, resolution, settings)
    if write:
        atomic_write(path, table.to_json() + "\n")
    return table
