"""Complexity profiles: one fvcore measurement of the full-width decoder, split per slimmable module.

Every MAC of a decoder is done by a module of :mod:`search.nn.layers` whose count is
``coefficient * a * b``, with ``a`` and ``b`` linear in the layer widths (a conv: input times output
width, a GDN: width squared). A profile is one fvcore measurement of the full-width decoder at one
resolution, split per slimmable module, divided by ``a * b`` at full width to give each module's
integer coefficient (its ``k*k*Hout*Wout`` as fvcore counted it); :mod:`search.complexity.closed_form`
turns the coefficients into the GMACs of any layout. A profile is stamped with hashes of the codec and
space files, so a stale one is measured again.
"""
from __future__ import annotations

import json
import platform
import sys
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Mapping, Sequence

import torch

from ..config.values import format_resolution, parse_resolution
from ..files import atomic_write
from ..nn.layers import Slim, slim_modules
from ..nn.widths import Width
from ..paths import PROFILE_DIR
from ..space import Space
from .fvcount import MacCount, count_decoder


@dataclass
class Term:
    """One slimmable module: ``coefficient * a * b`` MACs, a and b as (layer, multiplier) + const."""

    path: str
    row: str
    coefficient: int
    a: tuple[list, int]
    b: tuple[list, int]


@dataclass
class Profile:
    space: str
    codec: str
    resolution: tuple[int, int]
    padded: tuple[int, int]
    hashes: dict[str, str]
    layers: list[str]
    terms: list[Term]
    measured_macs: dict[str, int]  # per report module, fvcore at full width
    uncounted_ops: dict[str, int]
    versions: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        data = asdict(self)
        data["resolution"] = format_resolution(self.resolution)
        data["padded"] = format_resolution(self.padded)
        data["measured_gmacs"] = {k: v / 1e9 for k, v in self.measured_macs.items()}
        return json.dumps(data, indent=1, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> "Profile":
        data = json.loads(text)
        data.pop("measured_gmacs", None)
        data["resolution"] = parse_resolution(data["resolution"])
        data["padded"] = parse_resolution(data["padded"])
        data["terms"] = [Term(t["path"], t["row"], int(t["coefficient"]), tuple(t["a"]),
                              tuple(t["b"])) for t in data["terms"]]
        return cls(**data)


def _as_terms(width: Width) -> tuple[list, int]:
    return [[k, m] for k, m in width.terms], width.const


def own_macs(by_module: Mapping[str, int], names: Sequence[str]) -> dict[str, int]:
    """MACs of each named module minus those of the named modules nested inside it."""
    own = {}
    for name in sorted(names, key=lambda n: -n.count(".")):
        nested = sum(own[o] for o in own if o.startswith(name + "."))
        own[name] = by_module.get(name, 0) - nested
    return own


@dataclass
class _Measured:
    """fvcore's count of a built decoder, attributed to its slimmable modules."""

    count: MacCount
    modules: dict[str, Slim]
    own: dict[str, int]

    def per_report_module(self, space: Space) -> dict[str, int]:
        out = {m.name: 0 for m in space.modules}
        for path, module in self.modules.items():
            out[space.module_of(module.row)] += self.own[path]
        return out


def _measure(space: Space, layout: Mapping[str, int] | None, resolution: tuple[int, int],
             device: torch.device | str = "cpu") -> _Measured:
    """fvcore on the decoder built at ``layout`` (full width: None), padded to the codec's multiple,
    traced on ``device`` (the count does not depend on it; a GPU only traces a 1080p frame faster)."""
    width, height = resolution
    padded_h, padded_w = space.codec.padded_size(height, width)
    codec = space.codec(layout).eval().to(device)
    inputs = codec.decoder_inputs(padded_h, padded_w, generator=torch.Generator().manual_seed(0))
    count = count_decoder(codec, {name: t.to(device) for name, t in inputs.items()})
    modules = dict(slim_modules(codec))
    return _Measured(count, modules, own_macs(count.by_module, list(modules)))


def measure_profile(space: Space, resolution: tuple[int, int], device: torch.device | str = "cpu"
                    ) -> Profile:
    """fvcore on the full-width decoder at ``resolution`` (padded to the codec's multiple)."""
    torch.manual_seed(0)
    measured = _measure(space, None, resolution, device)
    unattributed = measured.count.total - sum(measured.own.values())
    if unattributed:
        raise RuntimeError(f"{space.codec_name}: {unattributed} MACs outside slimmable modules; every "
                           f"MAC-carrying op must be a search.nn.layers module")
    terms = []
    for path, module in measured.modules.items():
        a, b = module.macs_widths()
        coefficient, rest = divmod(measured.own[path], a.full * b.full)
        if rest:
            raise RuntimeError(f"{path}: {measured.own[path]} MACs are not a multiple of "
                               f"{a.full}x{b.full}")
        terms.append(Term(path, module.row, coefficient, _as_terms(a), _as_terms(b)))
    width, height = resolution
    padded_h, padded_w = space.codec.padded_size(height, width)
    return Profile(space=space.name, codec=space.codec_name, resolution=(width, height),
                   padded=(padded_w, padded_h), hashes=space.hashes(), layers=list(space.layers),
                   terms=terms, measured_macs=measured.per_report_module(space),
                   uncounted_ops=measured.count.uncounted_ops, versions=_versions())


def _versions() -> dict[str, str]:
    return {"fvcore": version("fvcore"), "torch": torch.__version__,
            "python": platform.python_version()}


def profile_path(space: Space, resolution: tuple[int, int], profile_dir: Path = PROFILE_DIR) -> Path:
    return Path(profile_dir) / f"{space.name}@{format_resolution(resolution)}.json"


def load_or_measure(space: Space, resolution: tuple[int, int], profile_dir: Path = PROFILE_DIR,
                    write: bool = True, log=print, force: bool = False,
                    device: torch.device | str = "cpu") -> Profile:
    """The stored profile if its codec and space hashes match; otherwise (or with ``force``) measure
    it (tracing on ``device``) and store it."""
    path = profile_path(space, resolution, profile_dir)
    if force:
        log(f"measuring {path} again with fvcore", file=sys.stderr)
    elif path.is_file():
        profile = Profile.from_json(path.read_text())
        if profile.hashes == space.hashes():
            return profile
        changed = [k for k in ("codec", "space") if profile.hashes.get(k) != space.hashes()[k]]
        log(f"profile {path} is stale ({' and '.join(changed)} file changed): measuring again",
            file=sys.stderr)
    else:
        log(f"no profile {path}: measuring with fvcore", file=sys.stderr)
    profile = measure_profile(space, resolution, device)
    if write:
        atomic_write(path, profile.to_json() + "\n")
    return profile


def fvcore_macs(space: Space, layout: Mapping[str, int], resolution: tuple[int, int]) -> dict[str, int]:
    """fvcore's MACs per report module of the decoder *built* at ``layout`` (the ground truth)."""
    return _measure(space, layout, resolution).per_report_module(space)
