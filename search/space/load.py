"""Search spaces: which layers of a codec may be slimmed, to which widths, tied how, reported how.

A space is a YAML file in ``spaces/`` (``space=fvc``) or anywhere (``space=path/to/mine.yaml``)::

    codec: fvc                               # codecs/fvc.py
    codes: p_frame                           # what the codec codes: p_frame or image
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

import math
from pathlib import Path
from typing import Any, Mapping

from ..codec import Codec, codec_file, load_codec
from ..errors import BadInput
from ..files import read_yaml
from ..paths import SPACE_DIR
from .model import Module, Space, SpaceLayer
from .names import did_you_mean


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
        raise BadInput(f"unknown space {name!r}{did_you_mean(name, names)}; available: "
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
    allowed = {"codec", "codes", "description", "options", "uniform", "modules", "ties", "resolution"}
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
    _check_codes(data.get("codes"), codec, codec_name, where)
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


#: a space's ``codes:`` value for each codec ``CODES``
CODES_KEY = {"p-frame": "p_frame", "image": "image"}


def _check_codes(codes: Any, codec: type[Codec], codec_name: str, where: str) -> None:
    """``codes:`` says what the space's codec codes (what training, scoring and evaluation feed it);
    when given it must agree with the codec (a space file left without it takes the codec's)."""
    if codes is None:
        return
    accepted = sorted(CODES_KEY.values())
    if codes not in accepted:
        raise BadInput(f"{where}: codes: {codes!r} is not accepted; expected one of "
                       f"{', '.join(accepted)}")
    actual = CODES_KEY.get(codec.CODES, codec.CODES)
    if codes != actual:
        raise BadInput(f"{where}: codes: {codes}, but codec {codec_name!r} codes {actual} "
                       f"(CODES = {codec.CODES!r}); write codes: {actual}")


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
                               f"{did_you_mean(key, codec_layers)}")
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
    divisor = spec.get("divisor", 1) if isinstance(spec, dict) else math.gcd(*options)
    return SpaceLayer(key, module, full, options, len(options) == 1, divisor)


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
                raise BadInput(f"{where}: tie {tie}: unknown layer {key!r}{did_you_mean(key, layers)}")
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
