"""Search spaces: which layers of a codec may be slimmed, to which widths, tied how, reported how.

A space is a YAML file in ``spaces/`` (``space=fvc``) or anywhere (``space=path/to/mine.yaml``)::

    codec: fvc                               # codecs/fvc.py
    options: {ratios: [1, 0.5, 0.25], divisor: 8}   # what `default` means
    uniform: false                           # true: one shared choice for every searchable layer
    modules:                                 # report groups, in the paper's table order
      - name: Motion Decoder
        in_paper: true                       # false: a module the paper's table omits
        decoder: true                        # false: not decoding cost (e.g. an encoder)
        layers:
          aligner.offset_decoder.deconv1: default     # the default options
          aligner.offset_decoder.res1: [128, 64]      # explicit widths
          aligner.offset_decoder.deconv3: {ratios: [1, 0.5], divisor: 16}
          ...: fixed                                  # not searchable
    ties:                                    # layers that share one choice (same option index)
      - [aligner.deformable_convolution, aligner.refine_conv2, resDecoder.deconv3]

Every layer of the codec appears exactly once. Loading validates the space against its codec and
reports the first problem as one line naming the file, the layer and what would be accepted.
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .codec import ROOT, Codec, codec_file, file_hash, load_codec
from .errors import BadInput
from .yamlio import read_yaml

SPACE_DIR = ROOT / "spaces"


@dataclass(frozen=True)
class SpaceLayer:
    key: str
    module: str
    full: int
    options: tuple[int, ...]  # descending; options[0] is the full width
    fixed: bool


@dataclass(frozen=True)
class Module:
    name: str
    layers: tuple[str, ...]
    in_paper: bool = True
    decoder: bool = True


@dataclass
class Space:
    """A validated search space. ``groups`` are the independent choices: each a tuple of tied layer
    keys that take the same option index (a singleton for an untied layer)."""

    name: str
    path: Path
    codec_name: str
    codec: type[Codec]
    layers: dict[str, SpaceLayer]
    modules: list[Module]
    groups: list[tuple[str, ...]]
    codec_path: Path = field(default=Path())

    # -- views ------------------------------------------------------------------------------------

    @property
    def searchable(self) -> list[str]:
        return [k for k, layer in self.layers.items() if not layer.fixed]

    @property
    def group_sizes(self) -> list[int]:
        """Number of options of each group."""
        return [len(self.layers[g[0]].options) for g in self.groups]

    @property
    def decoder_modules(self) -> list[Module]:
        return [m for m in self.modules if m.decoder]

    def hashes(self) -> dict[str, str]:
        return {"space": file_hash(self.path), "codec": file_hash(self.codec_path)}

    def module_of(self, key: str) -> str:
        return self.layers[key].module

    # -- layouts ----------------------------------------------------------------------------------

    def full_layout(self) -> dict[str, int]:
        return {k: layer.full for k, layer in self.layers.items()}

    def layout_of(self, choice: Sequence[int]) -> dict[str, int]:
        """The layout for one option index per group."""
        if len(choice) != len(self.groups):
            raise ValueError(f"{len(choice)} choices for {len(self.groups)} groups")
        layout = self.full_layout()
        for group, index in zip(self.groups, choice):
            for key in group:
                layout[key] = self.layers[key].options[int(index)]
        return layout

    def choice_of(self, layout: Mapping[str, int]) -> list[int]:
        """Option index per group of a layout (BadInput if a width is not an option or ties break)."""
        self.check_layout(layout)
        choice = []
        for group in self.groups:
            indices = {self.layers[k].options.index(int(layout[k])) for k in group}
            if len(indices) != 1:
                widths = {k: int(layout[k]) for k in group}
                raise BadInput(f"layout breaks the tie {list(group)}: widths {widths}")
            choice.append(indices.pop())
        return choice

    def uniform_layout(self, index: int) -> dict[str, int]:
        """Every searchable layer at its ``index``-th option (uniform slimming)."""
        return self.layout_of([min(index, n - 1) for n in self.group_sizes])

    def random_choices(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """[count, groups] random option indices."""
        return np.stack([rng.integers(0, n, size=count) for n in self.group_sizes], axis=1)

    def check_layout(self, layout: Mapping[str, Any], where: str = "layout") -> None:
        unknown = [k for k in layout if k not in self.layers]
        if unknown:
            raise BadInput(f"{where}: unknown layer {unknown[0]!r} for space {self.name!r}"
                           f"{_did_you_mean(unknown[0], self.layers)}")
        missing = [k for k in self.layers if k not in layout]
        if missing:
            raise BadInput(f"{where}: no width for layer {missing[0]!r} (space {self.name!r})")
        for key, width in layout.items():
            layer = self.layers[key]
            if not isinstance(width, (int, np.integer)) or isinstance(width, bool):
                raise BadInput(f"{where}: layer {key!r}: width {width!r} is not an integer")
            if int(width) not in layer.options:
                raise BadInput(f"{where}: layer {key!r}: width {width} is not among its options "
                               f"{list(layer.options)}")

    def option_matrix(self) -> list[np.ndarray]:
        """Per group, [options, layers-of-group] widths."""
        return [np.array([[self.layers[k].options[i] for k in g]
                          for i in range(len(self.layers[g[0]].options))]) for g in self.groups]


# ------------------------------------------------------------------------------------------------


def available_spaces(space_dir: Path = SPACE_DIR) -> list[str]:
    return sorted(p.stem for p in Path(space_dir).glob("*.yaml"))


def space_path(name: str, space_dir: Path = SPACE_DIR) -> Path:
    """``fvc`` -> ``spaces/fvc.yaml``; a path to a YAML file is taken as it is."""
    candidate = Path(name)
    if candidate.suffix in (".yaml", ".yml"):
        if not candidate.is_file():
            raise BadInput(f"space file {candidate} does not exist")
        return candidate
    path = Path(space_dir) / f"{name}.yaml"
    if not path.is_file():
        names = available_spaces(space_dir)
        raise BadInput(f"unknown space {name!r}{_did_you_mean(name, names)}; available: "
                       f"{', '.join(names) or 'none'} (or a path to a .yaml file)")
    return path


def load_space(name: str | Path, space_dir: Path = SPACE_DIR, codec_dir: Path | None = None) -> Space:
    path = space_path(str(name), space_dir)
    data = read_yaml(path)
    return parse_space(data, path, codec_dir)


def parse_space(data: Any, path: Path, codec_dir: Path | None = None) -> Space:
    where = str(path)
    if not isinstance(data, dict):
        raise BadInput(f"{where}: a space is a YAML mapping with keys codec, options, modules, ties")
    allowed = {"codec", "description", "options", "uniform", "modules", "ties", "resolution"}
    extra = sorted(set(data) - allowed)
    if extra:
        raise BadInput(f"{where}: unknown key {extra[0]!r}; accepted: {', '.join(sorted(allowed))}")
    codec_name = data.get("codec")
    if not isinstance(codec_name, str):
        raise BadInput(f"{where}: 'codec' must name a codec file (e.g. codec: fvc)")
    kwargs = {} if codec_dir is None else {"codec_dir": codec_dir}
    try:
        codec = load_codec(codec_name, **kwargs)
    except BadInput as err:
        raise BadInput(f"{where}: {err}") from None
    codec_layers = {layer.key: layer for layer in codec.LAYERS}
    default = data.get("options")
    modules, layers = _parse_modules(data.get("modules"), codec_layers, default, where)
    missing = [k for k in codec_layers if k not in layers]
    if missing:
        raise BadInput(f"{where}: codec layer {missing[0]!r} is in no module (list it, 'fixed' "
                       f"if it must not be slimmed)")
    groups = _parse_ties(data.get("ties") or [], bool(data.get("uniform", False)), layers, codec,
                         where)
    space = Space(name=path.stem, path=path, codec_name=codec_name, codec=codec, layers=layers,
                  modules=modules, groups=groups, codec_path=codec_file(codec_name, **kwargs))
    _check_builds(space, where)
    return space


def _parse_modules(raw: Any, codec_layers: Mapping, default: Any, where: str):
    if not isinstance(raw, list) or not raw:
        raise BadInput(f"{where}: 'modules' must be a non-empty list of {{name, layers}}")
    modules, layers = [], {}
    for m in raw:
        if not isinstance(m, dict) or not isinstance(m.get("name"), str) or \
                not isinstance(m.get("layers"), dict) or not m["layers"]:
            raise BadInput(f"{where}: each module needs a 'name' and a non-empty 'layers' mapping")
        for key, spec in m["layers"].items():
            if key not in codec_layers:
                raise BadInput(f"{where}: module {m['name']!r}: unknown layer {key!r}"
                               f"{_did_you_mean(key, codec_layers)}")
            if key in layers:
                raise BadInput(f"{where}: layer {key!r} is listed twice (modules "
                               f"{layers[key].module!r} and {m['name']!r})")
            layers[key] = _parse_layer(key, m["name"], spec, codec_layers[key], default, where)
        modules.append(Module(m["name"], tuple(m["layers"]), bool(m.get("in_paper", True)),
                              bool(m.get("decoder", True))))
    return modules, layers


def _parse_layer(key: str, module: str, spec: Any, codec_layer, default: Any, where: str):
    full = codec_layer.full
    here = f"{where}: layer {key!r}"
    if spec == "fixed":
        return SpaceLayer(key, module, full, (full,), True)
    if codec_layer.fixed:
        raise BadInput(f"{here} cannot be slimmed ({codec_layer.fixed}); write 'fixed'")
    if spec in (None, "default"):
        if default is None:
            raise BadInput(f"{here} uses 'default' but the space has no top-level 'options'")
        spec = default
    widths = _widths(spec, full, here)
    if not widths:
        raise BadInput(f"{here}: empty width options")
    for w in widths:
        if w <= 0:
            raise BadInput(f"{here}: width {w} must be positive")
        if w > full:
            raise BadInput(f"{here}: width {w} is above its full width {full}")
    options = tuple(sorted(set(widths) | {full}, reverse=True))
    return SpaceLayer(key, module, full, options, len(options) == 1)


def _widths(spec: Any, full: int, here: str) -> list[int]:
    if isinstance(spec, list):
        if not all(isinstance(w, int) and not isinstance(w, bool) for w in spec):
            raise BadInput(f"{here}: widths must be integers, got {spec}")
        return list(spec)
    if isinstance(spec, dict) and "ratios" in spec:
        ratios, divisor = spec["ratios"], spec.get("divisor", 1)
        if not isinstance(ratios, list) or not ratios or not isinstance(divisor, int) or divisor < 1:
            raise BadInput(f"{here}: ratios must be a non-empty list and divisor a positive integer")
        out = []
        for r in ratios:
            if not isinstance(r, (int, float)) or not 0 < r <= 1:
                raise BadInput(f"{here}: ratio {r!r} must be in (0, 1]")
            out.append(ratio_width(full, r, divisor))
        return out
    raise BadInput(f"{here}: options must be 'default', 'fixed', a list of widths or "
                   f"{{ratios: [...], divisor: d}}, got {spec!r}")


def ratio_width(full: int, ratio: float, divisor: int = 1) -> int:
    """``ratio * full`` rounded half up to a multiple of ``divisor`` (at least ``divisor``)."""
    return max(divisor, int(math.floor(ratio * full / divisor + 0.5)) * divisor)


def _parse_ties(raw: Any, uniform: bool, layers: dict[str, SpaceLayer], codec: type[Codec],
                where: str) -> list[tuple[str, ...]]:
    if not isinstance(raw, list) or not all(isinstance(t, list) for t in raw):
        raise BadInput(f"{where}: 'ties' must be a list of lists of layer keys")
    parent = {k: k for k in layers}

    def find(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    searchable = [k for k, layer in layers.items() if not layer.fixed]
    ties = [list(t) for t in raw] + ([searchable] if uniform else [])
    for tie in ties:
        for key in tie:
            if key not in layers:
                raise BadInput(f"{where}: tie {tie}: unknown layer {key!r}{_did_you_mean(key, layers)}")
            if layers[key].fixed:
                raise BadInput(f"{where}: tie {tie}: layer {key!r} is fixed and cannot be tied")
            if len(layers[key].options) != len(layers[tie[0]].options):
                raise BadInput(f"{where}: tie {tie} cannot hold: {key!r} has "
                               f"{len(layers[key].options)} options, {tie[0]!r} has "
                               f"{len(layers[tie[0]].options)}")
        for key in tie[1:]:
            parent[find(key)] = find(tie[0])
    for required, reason in codec.TIES:
        for key in required:
            if layers[key].fixed or layers[required[0]].fixed:
                if layers[key].options != layers[required[0]].options:
                    raise BadInput(f"{where}: {list(required)} must have equal widths ({reason}); "
                                   f"fix all of them or none")
                continue
            if find(key) != find(required[0]):
                raise BadInput(f"{where}: layers {list(required)} must be tied ({reason}); add them "
                               f"to 'ties'")
            if layers[key].options != layers[required[0]].options:
                raise BadInput(f"{where}: tie {list(required)} cannot hold ({reason}): options "
                               f"{list(layers[key].options)} vs {list(layers[required[0]].options)}")
    groups: dict[str, list[str]] = {}
    for key in searchable:
        groups.setdefault(find(key), []).append(key)
    return [tuple(g) for g in groups.values()]


def _check_builds(space: Space, where: str) -> None:
    """The options must build (a deformable conv keeps whole groups...): try the smallest layout."""
    try:
        space.codec(space.uniform_layout(max(space.group_sizes, default=1) - 1))
    except (ValueError, RuntimeError) as err:
        # name the space layer whose option breaks it (the codec names the layer that consumes it)
        for g, group in enumerate(space.groups):
            for index in range(1, space.group_sizes[g]):
                choice = [0] * len(space.groups)
                choice[g] = index
                try:
                    space.codec(space.layout_of(choice))
                except (ValueError, RuntimeError) as one:
                    widths = ", ".join(f"{k}={space.layers[k].options[index]}" for k in group)
                    raise BadInput(f"{where}: layer {group[0]!r}: option {widths} does not build: "
                                   f"{str(one).splitlines()[0]}") from None
        raise BadInput(f"{where}: options do not build: {str(err).splitlines()[0]}") from None


def _did_you_mean(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=3)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


did_you_mean = _did_you_mean
