"""What every job starts from: the configuration tree, built once, and the objects it names.

A command parses its keys into a :class:`~search.config.Config`, loads the space it names, resolves the
preset against the space's codec and checks the device (:func:`configure`; under ``torchrun`` a
training command's process joins the process group there); :func:`build_job` then loads the complexity
profile (and, under ``objective=latency``, the decode-time table), checks the targets against what the
space can reach, and fixes the run folder. Library functions receive the parts of the :class:`Job` they
need.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd
import torch

from ..complexity import Complexity, Cost, Profile, load_or_measure
from ..config import Command, Config, parse, parse_resolution, resolve, to_yaml
from ..config.latency import OBJECTIVE_NAMES, objective_targets
from ..data import Clips, Septuplets, training_frames
from ..data.testset import TestSequence, open_test_set
from ..errors import BadInput
from ..evaluation import Protocol, evaluate
from ..intra import IntraCodec
from ..files import atomic_write
from ..paths import PROFILE_DIR, RESULTS_DIR
from ..space import LayoutFile, Space, load_space, open_layout
from ..stage2 import check_stage2, check_targets
from ..timing import LatencyModel, LatencySettings, load_or_measure_latency
from ..training import Runtime, codes_images, parse_device, start_runtime
from .intra import check_intra, obtain_intra


def checkpoint_list(text: str) -> list[str]:
    """``a.pt``, ``a.pt,b.pt`` or ``[a.pt,b.pt]`` (eval takes several); empty for none."""
    return [p.strip() for p in text.strip().strip("[]").split(",") if p.strip()]


@dataclass
class Configured:
    """A command's configuration tree, the space it names, given ``layout=`` the layout file, and the
    runtime (device, precision, this process's rank)."""

    cfg: Config
    space: Space
    layout_file: LayoutFile | None = None
    runtime: Runtime = field(default_factory=Runtime)

    @property
    def layout(self) -> dict[str, int]:
        """The ``layout=`` file's layout, or the full one."""
        return dict(self.layout_file.layout) if self.layout_file else self.space.full_layout()


def configure(command: Command, argv: Sequence[str], main_job: bool = False, trains: bool = False
              ) -> Configured:
    """The command's configuration tree: parsed, its space loaded (the one a ``layout=`` file names,
    if given), the preset filled for the space's codec and checked; the device checked (``device=cuda``
    without a GPU is one line, exit 2); torch's threads set. A command that ``trains`` joins the
    process group when started by ``torchrun``."""
    cfg = parse(command, argv)
    space, layout = open_layout(cfg.layout, cfg.space) if cfg.layout else (load_space(cfg.space), None)
    cfg = resolve(cfg, space.codec, space.codec_name, main_job=main_job)
    for path in checkpoint_list(cfg.checkpoint):
        if not Path(path).is_file():
            raise BadInput(f"checkpoint={path}: no such file")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    return Configured(cfg, space, layout, start_runtime(cfg.runtime, distributed=trains))


def load_complexity(cfg: Config, space: Space, device: torch.device | None = None) -> Complexity:
    """The closed form at ``cfg.resolution`` from the stored profile (measured on ``device``, by
    default ``cfg``'s, if missing or stale)."""
    profile_dir = Path(cfg.profile.dir) if cfg.profile.dir else PROFILE_DIR
    device = device or parse_device(cfg.runtime.device)
    return Complexity(load_or_measure(space, parse_resolution(cfg.resolution), profile_dir,
                                      device=device), space)


def latency_settings(cfg: Config, device: torch.device | str) -> LatencySettings:
    """How decoders are timed: ``cfg.latency`` on its device (the job's ``device`` if unset)."""
    lat = cfg.latency
    try:
        return LatencySettings(device=lat.device or str(device), runtime=lat.runtime,
                               threads=lat.threads or None, precision=lat.precision,
                               repeats=lat.repeats, layouts=lat.layouts, seed=cfg.seed)
    except ValueError as err:
        raise BadInput(f"latency settings: {err}") from None


def load_latency(cfg: Config, space: Space, settings: LatencySettings) -> LatencyModel:
    """The decode-time table at ``cfg.resolution`` (measured if missing or stale) as a cost."""
    profile_dir = Path(cfg.profile.dir) if cfg.profile.dir else PROFILE_DIR
    table = load_or_measure_latency(space, parse_resolution(cfg.resolution), settings, profile_dir,
                                    force=cfg.profile.force)
    return LatencyModel(table, space)


def check_objective(cfg: Config) -> None:
    """One objective, with its own targets only (``target_gmacs`` or ``target_ms``)."""
    objective = cfg.supernet.objective
    if objective not in OBJECTIVE_NAMES:
        raise BadInput(f"objective={objective}: expected one of {', '.join(OBJECTIVE_NAMES)}")
    if cfg.latency.pareto_gmacs and objective != "latency":
        raise BadInput("pareto_gmacs=true adds GMACs to a decode-time study: it needs objective=latency "
                       "(a GMAC study already minimises GMACs)")
    rounds, tolerance = cfg.latency.landing_rounds, cfg.latency.landing_tolerance
    if not isinstance(rounds, int) or isinstance(rounds, bool) or rounds < 0:
        raise BadInput(f"landing_rounds={rounds!r}: expected a whole number of rounds, 0 or more")
    if not 0 < float(tolerance) < 1:
        raise BadInput(f"landing_tolerance={tolerance!r}: expected a fraction between 0 and 1 (0.02: 2%)")
    other = "target_gmacs" if objective == "latency" else "target_ms"
    if getattr(cfg.supernet, other):
        raise BadInput(f"{other}= with objective={objective}: give the targets in "
                       f"{objective_targets(cfg.supernet)[0]}= (or objective="
                       f"{'gmacs' if objective == 'latency' else 'latency'})")


@dataclass
class Job:
    """A configured job: the tree, the space, the closed form, the checked targets and the folder.
    ``cost`` is what the targets are in: the closed form (``objective=gmacs``) or the decode-time
    table (``objective=latency``); ``timing`` says how decoders are timed, if they are."""

    cfg: Config
    space: Space
    complexity: Complexity
    targets: list[float]
    interpolate: list[float]
    out: Path
    runtime: Runtime = field(default_factory=Runtime)
    cost: Cost | None = None
    timing: LatencySettings | None = None
    #: decoders timed so far (layout items -> timing), each measured once per job
    timings: dict = field(default_factory=dict, repr=False)
    #: the supernet's shared weights, once trained: decoders are timed sliced from them (FVC's
    #: deformable convolution gathers at offsets its weights compute, so its time depends on them)
    shared: torch.nn.Module | None = field(default=None, repr=False)
    _clips: Clips | Septuplets | None = field(default=None, repr=False)

    def __post_init__(self):
        if self.cost is None:
            self.cost = self.complexity

    @property
    def on_time(self) -> bool:
        """The targets are decode times (``objective=latency``), not GMACs."""
        return self.cost is not self.complexity

    @property
    def profile(self) -> Profile:
        return self.complexity.profile

    _intra: IntraCodec | None | bool = field(default=False, repr=False)
    _sequences: list[TestSequence] | None = field(default=None, repr=False)
    _intra_cache: dict = field(default_factory=dict, repr=False)

    @property
    def clips(self) -> Clips | Septuplets:
        """The training frames, shared by stage 1 and stage 2: clips decoded once, or the Vimeo-90k
        septuplets read per sample (:func:`search.data.training_frames`)."""
        if self._clips is None:
            self._clips = training_frames(self.cfg.data)
        return self._clips

    @property
    def protocol(self) -> Protocol:
        return Protocol.of(self.cfg.eval)

    def test_sequences(self) -> list[TestSequence]:
        """The held-out test sequences the job's layouts are evaluated on (``test_data=``)."""
        return open_test_set(self.cfg.eval.data, self.protocol.yuv)

    @property
    def codes_images(self) -> bool:
        """Whether the space's codec codes images (evaluated image by image, without I-frames)."""
        return codes_images(self.space.codec)

    @property
    def intra(self) -> IntraCodec | None:
        """The I-frame codec (obtained once; the quick preset's is kept in the job's folder); none for
        an image codec, which codes every image itself."""
        if self._intra is False and self.codes_images:
            self._intra = None
        if self._intra is False:
            self._intra = obtain_intra(self.cfg, self.cfg.training.lmbda, lambda: self.clips,
                                       beside=self.out, keep=True)
        return self._intra

    def evaluate(self, model) -> pd.DataFrame:
        """Per-frame figures of ``model`` on the test sequences (the I-frames coded once per job)."""
        if self._sequences is None:
            self._sequences = self.test_sequences()
        return evaluate(model, self._sequences, self.protocol, self.intra, progress=False,
                        point=self.cfg.training.lmbda, intra_cache=self._intra_cache)

    @property
    def lambdas(self) -> list[float]:
        """The main job's RD points: ``lmbda=[...]``, or the one training lambda."""
        return [float(v) for v in self.cfg.lambdas] or [float(self.cfg.training.lmbda)]

    def at_lambda(self, lmbda: float) -> "Job":
        """The same job for one RD point, in its own folder ``lambda-<lambda>``."""
        cfg = dataclasses.replace(self.cfg, lambdas=[float(lmbda)],
                                  training=dataclasses.replace(self.cfg.training, lmbda=float(lmbda)))
        # the I-frame codec depends on lambda (its quality), so its coded frames are not shared
        return dataclasses.replace(self, cfg=cfg, out=self.out / f"lambda-{lmbda:g}", _intra=False,
                                   _intra_cache={})

    def write_config(self) -> None:
        """``config.yaml`` in the run folder (by rank 0 alone in a distributed run)."""
        if self.runtime.is_main:
            atomic_write(self.out / "config.yaml", to_yaml(self.cfg))


def build_job(cfg: Config, space: Space, default_out: Callable[[list[float]], str],
              runtime: Runtime | None = None) -> Job:
    """Targets checked against the space's range and the temperature schedule checked, before any
    training; ``default_out(targets)`` names the folder under ``results/<space>/`` when ``out=`` is
    not given (deterministic, so that the same command finds its folder again and resumes)."""
    runtime = runtime or Runtime()
    check_objective(cfg)
    check_stage2(cfg, space, cfg.supernet.interpolate)
    Protocol.of(cfg.eval)
    check_intra(cfg)
    latency = cfg.supernet.objective == "latency"
    measure = latency if cfg.latency.measure is None else cfg.latency.measure
    timing = latency_settings(cfg, runtime.device) if measure or latency else None
    complexity = load_complexity(cfg, space, runtime.device)
    cost = load_latency(cfg, space, timing) if latency else complexity
    low, high = cost.range()
    key, values = objective_targets(cfg.supernet)
    targets = check_targets(values, low, high, key, cost.unit)
    interpolate = check_targets([float(t) for t in cfg.supernet.interpolate], low, high, "interpolate",
                                cost.unit) if cfg.supernet.interpolate else []
    if codes_images(space.codec) and runtime.is_main:
        print(f"note: space {space.name!r} codes images: no I-frame codec, intra={cfg.intra.mode} is "
              f"ignored; each test image is coded by {space.codec_name} itself")
    out = Path(cfg.out) if cfg.out else RESULTS_DIR / space.name / default_out(targets)
    return Job(cfg, space, complexity, targets, interpolate, out, runtime, cost,
               timing if measure else None)
