"""A latency table: per slimmable module, measured milliseconds as a function of its two widths, the
calibration of their sum to whole-decoder time, and the error of that prediction on held-out layouts.

A module's time is a function of the two widths of its MAC count (``Term.a`` and ``Term.b`` of the
GMAC profile: input and output width of a convolution, linear in the layer widths), so the table keys
each module's cells by ``(a, b)``. Cells the design layouts never reached are filled by the module's
least-squares fit ``ms = c0 + c1 * a * b`` over its observed cells (``observed`` is false there).
The table is stamped with the hashes of the codec and space files, like a GMAC profile: a stale
table is measured again.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Mapping

from ..config.values import format_resolution, parse_resolution
from ..paths import PROFILE_DIR
from ..space import Space
from .settings import LatencySettings

Width = tuple[list, int]  # [[layer key, multiplier], ...], constant: as a profile Term's a and b


def width_value(width: Width, layout: Mapping[str, int]) -> int:
    """A Term width (linear in layer widths) at ``layout``."""
    terms, const = width
    return int(sum(mult * int(layout[key]) for key, mult in terms) + const)


@dataclass
class ModuleCells:
    """One slimmable module: its widths, measured cells ``[a, b, ms, observed]`` and its fit."""

    path: str
    row: str
    a: Width
    b: Width
    cells: list[list] = field(default_factory=list)
    fit: tuple[float, float] = (0.0, 0.0)  # ms = fit[0] + fit[1] * a * b
    #: widths depending on more than two groups: predicted by the fit alone (a quadratic form in
    #: the widths, as the GMAC closed form; cells over three groups would not be a quadratic form)
    fit_only: bool = False

    def __post_init__(self) -> None:
        self._lookup = {} if self.fit_only else {(int(a), int(b)): float(ms) for a, b, ms, _ in self.cells}

    def ms_at(self, a: int, b: int) -> float:
        """The cell's milliseconds, or the fit where the table has no such cell (or is fit only)."""
        found = self._lookup.get((int(a), int(b)))
        return found if found is not None else self.fit[0] + self.fit[1] * a * b

    def ms_of_layout(self, layout: Mapping[str, int]) -> float:
        return self.ms_at(width_value(self.a, layout), width_value(self.b, layout))


@dataclass
class LayoutRecord:
    """One measured whole decoder: its option choice, measured median and spread (ms), the per-module
    sum and the calibrated prediction."""

    choice: list[int]
    kind: str  # "uniform" or "random"
    measured_ms: float
    min_ms: float
    max_ms: float
    sum_ms: float = 0.0
    predicted_ms: float = 0.0


@dataclass
class LatencyTable:
    """Measured decode time of a space's decoders at one resolution under one set of settings."""

    space: str
    codec: str
    resolution: tuple[int, int]
    padded: tuple[int, int]
    hashes: dict[str, str]
    settings: dict
    machine: dict
    versions: dict[str, str]
    seconds: float
    modules: list[ModuleCells]
    design: list[LayoutRecord]
    heldout: list[LayoutRecord]
    alpha: float
    beta: float
    errors: dict[str, float]  # mean / max absolute relative error on the held-out layouts
    full_ms: float
    smallest_ms: float

    def to_json(self) -> str:
        data = asdict(self)
        data["resolution"] = format_resolution(self.resolution)
        data["padded"] = format_resolution(self.padded)
        return json.dumps(data, indent=1)

    @classmethod
    def from_json(cls, text: str) -> "LatencyTable":
        data = json.loads(text)
        data["resolution"] = parse_resolution(data["resolution"])
        data["padded"] = parse_resolution(data["padded"])
        data["modules"] = [ModuleCells(m["path"], m["row"], (m["a"][0], int(m["a"][1])),
                                       (m["b"][0], int(m["b"][1])), m["cells"], tuple(m["fit"]),
                                       bool(m.get("fit_only", False)))
                           for m in data["modules"]]
        for part in ("design", "heldout"):
            data[part] = [LayoutRecord(**r) for r in data[part]]
        return cls(**data)

    def latency_settings(self) -> LatencySettings:
        return LatencySettings(**self.settings)


def latency_path(space: Space, resolution: tuple[int, int], settings: LatencySettings,
                 profile_dir: Path = PROFILE_DIR) -> Path:
    """``<profile_dir>/<space>@<WxH>.<device>[.t<threads>][.<precision>][.<runtime>].latency.json``:
    the device always, the other settings only where they differ from the defaults
    (``fvc@448x256.cpu.t1.latency.json``)."""
    return Path(profile_dir) / (f"{space.name}@{format_resolution(resolution)}."
                                f"{settings.file_tag()}.latency.json")
