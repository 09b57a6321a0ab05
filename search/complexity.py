"""Complexity profiles and the closed-form GMACs of any layout.

Every MAC of a decoder is done by a module of :mod:`search.slim` whose count is
``coefficient * a * b``, with ``a`` and ``b`` linear in the layer widths (a conv: input times output
width, a GDN: width squared). A profile is one fvcore measurement of the full-width decoder at one
resolution, split per slimmable module, divided by ``a * b`` at full width to give each module's
integer coefficient (its ``k*k*Hout*Wout`` as fvcore counted it). With ``x = [widths..., 1]`` the MACs
of a layout are then the quadratic form ``x^T Q x`` summed over the modules, which equals fvcore's
count of the decoder built at that layout to the MAC (tests check it on random layouts).

Evaluated in float64, which is exact here: every partial sum is an integer below 2**53.
"""
from __future__ import annotations

import json
import platform
import re
import sys
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import torch

from .codec import ROOT
from .errors import BadInput
from .fvcount import count_decoder
from .slim import slim_modules
from .space import Space
from .widths import Width
from .yamlio import atomic_write

PROFILE_DIR = ROOT / "profiles"
DEFAULT_RESOLUTION = (1920, 1080)


def parse_resolution(text: str | Sequence[int]) -> tuple[int, int]:
    """``"1920x1080"`` -> (1920, 1080), width first."""
    if isinstance(text, (list, tuple)) and len(text) == 2:
        text = f"{text[0]}x{text[1]}"
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", str(text))
    if not match or int(match[1]) <= 0 or int(match[2]) <= 0:
        raise BadInput(f"resolution={text!r}: expected WIDTHxHEIGHT with positive integers, "
                       f"e.g. 1920x1080")
    return int(match[1]), int(match[2])


def format_resolution(size: Sequence[int]) -> str:
    return f"{size[0]}x{size[1]}"


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


def measure_profile(space: Space, resolution: tuple[int, int]) -> Profile:
    """fvcore on the full-width decoder at ``resolution`` (padded to the codec's multiple)."""
    width, height = resolution
    padded_h, padded_w = space.codec.padded_size(height, width)
    torch.manual_seed(0)
    codec = space.codec().eval()
    inputs = codec.decoder_inputs(padded_h, padded_w, generator=torch.Generator().manual_seed(0))
    count = count_decoder(codec, inputs)
    modules = dict(slim_modules(codec))
    own = own_macs(count.by_module, list(modules))
    unattributed = count.total - sum(own.values())
    if unattributed:
        raise RuntimeError(f"{space.codec_name}: {unattributed} MACs outside slimmable modules; every "
                           f"MAC-carrying op must be a search.slim module")
    terms, measured = [], {m.name: 0 for m in space.modules}
    for path, module in modules.items():
        a, b = module.macs_widths()
        coefficient, rest = divmod(own[path], a.full * b.full)
        if rest:
            raise RuntimeError(f"{path}: {own[path]} MACs are not a multiple of {a.full}x{b.full}")
        terms.append(Term(path, module.row, coefficient, _as_terms(a), _as_terms(b)))
        measured[space.module_of(module.row)] += own[path]
    return Profile(space=space.name, codec=space.codec_name, resolution=(width, height),
                   padded=(padded_w, padded_h), hashes=space.hashes(), layers=list(space.layers),
                   terms=terms, measured_macs=measured, uncounted_ops=count.uncounted_ops,
                   versions=_versions())


def _versions() -> dict[str, str]:
    return {"fvcore": version("fvcore"), "torch": torch.__version__,
            "python": platform.python_version()}


def profile_path(space: Space, resolution: tuple[int, int], profile_dir: Path = PROFILE_DIR) -> Path:
    return Path(profile_dir) / f"{space.name}@{format_resolution(resolution)}.json"


def load_or_measure(space: Space, resolution: tuple[int, int], profile_dir: Path = PROFILE_DIR,
                    write: bool = True, log=print) -> Profile:
    """The stored profile if its codec and space hashes match; otherwise measure (and store) it."""
    path = profile_path(space, resolution, profile_dir)
    if path.is_file():
        profile = Profile.from_json(path.read_text())
        if profile.hashes == space.hashes():
            return profile
        changed = [k for k in ("codec", "space") if profile.hashes.get(k) != space.hashes()[k]]
        log(f"profile {path} is stale ({' and '.join(changed)} file changed): measuring again",
            file=sys.stderr)
    else:
        log(f"no profile {path}: measuring with fvcore", file=sys.stderr)
    profile = measure_profile(space, resolution)
    if write:
        atomic_write(path, profile.to_json() + "\n")
    return profile


class Complexity:
    """Closed-form MACs of layouts from a profile: ``x^T Q x`` per report module."""

    def __init__(self, profile: Profile, space: Space):
        self.profile, self.space = profile, space
        self.keys = list(space.layers)
        self.index = {k: i for i, k in enumerate(self.keys)}
        n = len(self.keys) + 1
        self.module_q = {m.name: np.zeros((n, n)) for m in space.modules}
        for term in profile.terms:
            a, b = self._vector(term.a), self._vector(term.b)
            self.module_q[space.module_of(term.row)] += term.coefficient * np.outer(a, b)
        self.decoder_modules = [m.name for m in space.decoder_modules]
        self.q = sum((self.module_q[m] for m in self.decoder_modules), np.zeros((n, n)))
        self.q = (self.q + self.q.T) / 2  # symmetric: halves of integers stay exact in float64
        self._options = space.option_matrix()
        self._offsets, self._choice_q = self._one_hot_form()

    def _one_hot_form(self) -> tuple[np.ndarray, np.ndarray]:
        """The same quadratic form over one-hot option indicators (one block per group, then 1):
        ``E`` maps indicators to ``[widths..., 1]`` so that ``P = E Q E^T``. Searches score choices,
        and this skips building the width rows."""
        sizes = self.space.group_sizes
        offsets = np.concatenate([[0], np.cumsum(sizes)])[:-1].astype(np.int64)
        e = np.zeros((sum(sizes) + 1, len(self.keys) + 1))
        e[-1, :-1] = self.layout_array(self.space.full_layout())[0]
        e[-1, -1] = 1
        for g, (group, table) in enumerate(zip(self.space.groups, self._options)):
            columns = [self.index[k] for k in group]
            e[-1, columns] = 0
            e[offsets[g]:offsets[g] + sizes[g], columns] = table
        return offsets, e @ self.q @ e.T

    def _vector(self, width: tuple[list, int]) -> np.ndarray:
        terms, const = width
        v = np.zeros(len(self.keys) + 1)
        for key, mult in terms:
            v[self.index[key]] += mult
        v[-1] = const
        return v

    # -- layouts as arrays --------------------------------------------------------------------------

    def layout_array(self, layouts: Mapping[str, int] | Sequence[Mapping[str, int]]) -> np.ndarray:
        if isinstance(layouts, Mapping):
            layouts = [layouts]
        return np.array([[lay[k] for k in self.keys] for lay in layouts], dtype=np.float64)

    def choices_to_array(self, choices: np.ndarray) -> np.ndarray:
        """[B, groups] option indices -> [B, layers] widths."""
        choices = np.asarray(choices)
        out = np.tile(self.layout_array(self.space.full_layout()), (len(choices), 1))
        for g, (group, table) in enumerate(zip(self.space.groups, self._options)):
            out[:, [self.index[k] for k in group]] = table[choices[:, g]]
        return out

    # -- MACs ---------------------------------------------------------------------------------------

    def macs_array(self, widths: np.ndarray, q: np.ndarray | None = None) -> np.ndarray:
        """MACs of [B, layers] width rows (float64, exact integers)."""
        q = self.q if q is None else q
        x = np.concatenate([widths, np.ones((len(widths), 1))], axis=1)
        return np.rint(np.einsum("bi,bi->b", x @ q, x))

    def gmacs(self, layout: Mapping[str, int]) -> float:
        return float(self.macs_array(self.layout_array(layout))[0]) / 1e9

    def macs(self, layout: Mapping[str, int]) -> int:
        return int(round(float(self.macs_array(self.layout_array(layout))[0])))

    def macs_of_choices(self, choices: np.ndarray, chunk: int = 8192) -> np.ndarray:
        """Decoder MACs of [B, groups] option indices, in cache-sized chunks of one-hot rows."""
        choices = np.asarray(choices, dtype=np.int64)
        out = np.empty(len(choices))
        width = self._choice_q.shape[0]
        for start in range(0, len(choices), chunk):
            block = choices[start:start + chunk]
            x = np.zeros((len(block), width))
            x[np.arange(len(block))[:, None], self._offsets + block] = 1.0
            x[:, -1] = 1.0
            out[start:start + len(block)] = np.einsum("bi,bi->b", x @ self._choice_q, x)
        return np.rint(out)

    def gmacs_of_choices(self, choices: np.ndarray) -> np.ndarray:
        return self.macs_of_choices(choices) / 1e9

    def module_macs(self, layout: Mapping[str, int]) -> dict[str, int]:
        x = self.layout_array(layout)
        return {name: int(round(float(self.macs_array(x, q)[0])))
                for name, q in self.module_q.items()}

    def range_gmacs(self) -> tuple[float, float]:
        """(smallest, full) decoder GMACs over the space's layouts (exact: MACs grow with widths)."""
        smallest = self.space.layout_of([n - 1 for n in self.space.group_sizes])
        return self.gmacs(smallest), self.gmacs(self.space.full_layout())

    def expected_gmacs(self, widths: torch.Tensor) -> torch.Tensor:
        """Differentiable GMACs of [B, layers] expected widths (the supernet's relaxation)."""
        q = torch.as_tensor(self.q, dtype=widths.dtype, device=widths.device)
        x = torch.cat([widths, widths.new_ones(widths.shape[0], 1)], dim=1)
        return ((x @ q) * x).sum(1) / 1e9


def fvcore_macs(space: Space, layout: Mapping[str, int], resolution: tuple[int, int]) -> dict[str, int]:
    """fvcore's MACs per report module of the decoder *built* at ``layout`` (the ground truth)."""
    width, height = resolution
    padded_h, padded_w = space.codec.padded_size(height, width)
    codec = space.codec(layout).eval()
    count = count_decoder(codec, codec.decoder_inputs(padded_h, padded_w,
                                                      generator=torch.Generator().manual_seed(0)))
    modules = dict(slim_modules(codec))
    own = own_macs(count.by_module, list(modules))
    out = {m.name: 0 for m in space.modules}
    for path, module in modules.items():
        out[space.module_of(module.row)] += own[path]
    return out
