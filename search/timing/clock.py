"""Wall time of a decoder built at a layout: the whole ``decode`` call, and each slimmable module's own
share of it.

Modules are timed *in context*, inside a real ``decode`` of the decoder built at the layout, with
forward pre/post hooks on every slimmable module (:func:`search.nn.layers.slim_modules`): a layer
timed alone would run with cold caches and without the memory traffic of its neighbours. On the CPU
a hook reads ``time.perf_counter`` (microseconds against the milliseconds of a convolution); on a GPU
it records CUDA events, read after one synchronisation at the end of the run, so the hooks do not
serialise the stream. A module nested in another slimmable module (FVC's offset convolution inside
its deformable convolution) is subtracted from its parent, so each module holds its own time, as
:func:`search.complexity.profile.own_macs` does for MACs. A module called several times in one decode
gets the sum of its calls.
"""
from __future__ import annotations

import copy
import statistics
import time
from dataclasses import dataclass
from typing import Mapping

import torch

from ..errors import BadInput
from ..nn.layers import slim_modules
from ..space import Space
from .settings import LatencySettings, torch_threads


@dataclass(frozen=True)
class DecoderTiming:
    """Whole-decoder wall time over ``repeats`` runs after warm-up: the median and the spread."""

    median_ms: float
    min_ms: float
    max_ms: float
    repeats: int

    @classmethod
    def of(cls, times_ms: list[float]) -> "DecoderTiming":
        return cls(statistics.median(times_ms), min(times_ms), max(times_ms), len(times_ms))


class DecoderRun:
    """A decoder built at ``layout`` on the settings' device and precision, with example inputs at the
    padded ``resolution``: random weights from the seed, or ``codec``'s own (an exported decoder loaded
    from its files, whose layout is ``layout``)."""

    def __init__(self, space: Space, layout: Mapping[str, int], resolution: tuple[int, int],
                 settings: LatencySettings, codec: torch.nn.Module | None = None):
        width, height = resolution
        padded_h, padded_w = space.codec.padded_size(height, width)
        device, dtype = settings.torch_device, settings.dtype
        torch.manual_seed(settings.seed)
        # a copy: moving a caller's model to the timing's device or precision must not change it
        built = copy.deepcopy(codec) if codec is not None else space.codec(dict(layout))
        self.codec = built.eval().to(device=device, dtype=dtype)
        inputs = self.codec.decoder_inputs(padded_h, padded_w,
                                           generator=torch.Generator().manual_seed(settings.seed))
        self.inputs = {name: t.to(device=device, dtype=dtype) if t.is_floating_point() else t.to(device)
                       for name, t in inputs.items()}
        self.settings, self.space = settings, space
        self.cuda = device.type == "cuda"

    def once(self) -> None:
        """One decode; a precision the device's kernels do not support is one line, not a traceback."""
        try:
            with torch.no_grad():
                self.codec.decode(**self.inputs)
        except (RuntimeError, NotImplementedError, TypeError) as err:
            if self.settings.precision == "fp32":
                raise
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise BadInput(f"precision={self.settings.precision} on {self.settings.device}: "
                           f"{self.space.name}'s decoder fails ({first[:160]}); use precision=fp32"
                           ) from None

    def timed_ms(self) -> float:
        """One decode's wall time in milliseconds (CUDA: events around it, then synchronise)."""
        if not self.cuda:
            start = time.perf_counter()
            self.once()
            return (time.perf_counter() - start) * 1e3
        begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        begin.record()
        self.once()
        end.record()
        torch.cuda.synchronize()
        return begin.elapsed_time(end)

    def warm_up(self) -> None:
        for _ in range(self.settings.warmup):
            self.once()


class ModuleClock:
    """Forward hooks on every slimmable module of a codec recording each module's own wall time in
    one run (:meth:`run_ms` returns the whole decode's time and the per-module times)."""

    def __init__(self, run: DecoderRun):
        self.run = run
        self.modules = dict(slim_modules(run.codec))
        self.parent = {path: _nearest_parent(path, self.modules) for path in self.modules}
        self._open: dict[str, object] = {}
        self._spans: dict[str, list] = {}

    def _pre(self, path: str):
        def hook(module, args):
            if self.run.cuda:
                event = torch.cuda.Event(enable_timing=True)
                event.record()
                self._open[path] = event
            else:
                self._open[path] = time.perf_counter()
        return hook

    def _post(self, path: str):
        def hook(module, args, output):
            start = self._open.pop(path)
            if self.run.cuda:
                event = torch.cuda.Event(enable_timing=True)
                event.record()
                self._spans.setdefault(path, []).append((start, event))
            else:
                self._spans.setdefault(path, []).append((time.perf_counter() - start) * 1e3)
        return hook

    def run_ms(self) -> tuple[float, dict[str, float]]:
        """One hooked decode: (whole ms, {module path: own ms}) for the modules that ran."""
        handles = [h for path, m in self.modules.items()
                   for h in (m.register_forward_pre_hook(self._pre(path)),
                             m.register_forward_hook(self._post(path)))]
        self._spans = {}
        try:
            whole = self.run.timed_ms()
        finally:
            for handle in handles:
                handle.remove()
        total = {path: sum(s.elapsed_time(e) for s, e in spans) if self.run.cuda else sum(spans)
                 for path, spans in self._spans.items()}
        own = dict(total)
        for path, ms in total.items():
            if self.parent[path] is not None and self.parent[path] in own:
                own[self.parent[path]] -= ms
        return whole, own


def _nearest_parent(path: str, modules: Mapping[str, object]) -> str | None:
    """The innermost other slimmable module that contains ``path``, if any."""
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        candidate = ".".join(parts[:cut])
        if candidate in modules:
            return candidate
    return None


@dataclass
class LayoutTiming:
    """One layout measured in context: its whole-decoder timing and each module's median own ms."""

    whole: DecoderTiming
    modules: dict[str, float]


def time_in_context(run: DecoderRun) -> LayoutTiming:
    """Warm-up, then ``repeats`` hooked decodes: per module the median of its own times. On the CPU
    the whole decode is timed in the same runs (the hooks cost microseconds); on a GPU the whole
    decode is timed apart, without hooks, whose events would otherwise be in the stream."""
    settings = run.settings
    run.warm_up()
    clock = ModuleClock(run)
    runs = [clock.run_ms() for _ in range(settings.repeats)]
    wholes = [w for w, _ in runs] if not run.cuda else [run.timed_ms() for _ in range(settings.repeats)]
    paths = sorted({p for _, own in runs for p in own})
    modules = {p: statistics.median([own.get(p, 0.0) for _, own in runs]) for p in paths}
    return LayoutTiming(DecoderTiming.of(wholes), modules)


def measure_decoder_ms(space: Space, layout: Mapping[str, int], resolution: tuple[int, int],
                       settings: LatencySettings, codec: torch.nn.Module | None = None) -> DecoderTiming:
    """The decoder built at ``layout`` (or ``codec``, with its own weights) timed whole (no hooks):
    ``settings.warmup`` untimed decodes, then the median and spread of ``settings.repeats`` timed
    ones, on ``settings.threads`` torch threads (restored afterwards). For re-measuring chosen
    decoders."""
    with torch_threads(settings.threads):
        run = DecoderRun(space, layout, resolution, settings, codec)
        run.warm_up()
        return DecoderTiming.of([run.timed_ms() for _ in range(settings.repeats)])
