"""Layout files: one width per layer of a space, with the GMACs they cost at a resolution.

::

    codec: fvc
    space: fvc                    # a name in spaces/, or the path of a space file
    name: level1                  # optional label (a report column's header)
    resolution: 1920x1080
    gmacs: 300.123                # decoder GMACs at that resolution
    layout:
      Encoder.conv1: 64
      ...

Fixed layers may be left out (they are at full width). A layout file is also a training config
(``python -m search.train layout=a.yaml``): every codec here is built from its layout alone; a file may
add ``codec_args`` (other constructor arguments of its codec). Files that repeat the layout under
``codec_args.layout`` load too, when both agree.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..config.values import format_resolution, parse_resolution
from ..errors import BadInput
from ..files import atomic_write, dump_yaml, read_yaml
from ..paths import SPACE_DIR
from .load import load_space
from .model import Space

#: the keys a layout file itself defines (anything else is kept in ``extra``)
OWN_KEYS = ("codec", "space", "name", "resolution", "gmacs", "layout", "codec_args")


@dataclass
class LayoutFile:
    codec: str
    space: str
    layout: dict[str, int]
    resolution: tuple[int, int] = (1920, 1080)
    gmacs: float | None = None
    name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    codec_args: dict[str, Any] = field(default_factory=dict)

    def to_yaml(self) -> str:
        data: dict[str, Any] = {"codec": self.codec, "space": self.space}
        if self.name:
            data["name"] = self.name
        data["resolution"] = format_resolution(self.resolution)
        if self.gmacs is not None:
            data["gmacs"] = round(float(self.gmacs), 6)
        data.update(self.extra)
        if self.codec_args:
            data["codec_args"] = dict(self.codec_args)
        data["layout"] = {k: int(v) for k, v in self.layout.items()}
        return dump_yaml(data)

    def save(self, path: Path | str) -> Path:
        return atomic_write(path, self.to_yaml())

    def build(self, space: Space):
        """The codec of this file (``space`` is the one it was loaded against)."""
        try:
            return space.codec(layout=self.layout, **self.codec_args)
        except TypeError as err:
            raise BadInput(f"layout {self.name!r}: codec_args do not fit codec {space.codec_name!r} "
                           f"({err})") from None


def load_layout(path: Path | str, space: Space) -> LayoutFile:
    """Read and validate a layout file against ``space`` (codec, layers, widths among the options)."""
    path = Path(path)
    data = read_yaml(path)
    where = str(path)
    if not isinstance(data, dict) or not isinstance(data.get("layout"), dict):
        raise BadInput(f"{where}: a layout file is a mapping with 'codec', 'space' and 'layout' "
                       f"(layer: width)")
    codec = data.get("codec")
    if codec != space.codec_name:
        raise BadInput(f"{where}: layout is for codec {codec!r}, but space {space.name!r} is for "
                       f"codec {space.codec_name!r}")
    layout = space.full_layout()
    for key, width in data["layout"].items():
        if key in space.layers and isinstance(width, int) and width <= 0:
            raise BadInput(f"{where}: layer {key!r}: width {width} must be positive")
        layout[key] = width
    space.check_layout(layout, where)
    try:
        space.choice_of(layout)  # ties
    except BadInput as err:
        raise BadInput(f"{where}: {err}") from None
    layout = {k: int(v) for k, v in layout.items()}
    return LayoutFile(codec=codec, space=str(data.get("space", space.name)), layout=layout,
                      resolution=parse_resolution(data.get("resolution", "1920x1080")),
                      gmacs=data.get("gmacs"), name=str(data.get("name") or path.stem),
                      extra={k: v for k, v in data.items() if k not in OWN_KEYS},
                      codec_args=_codec_args(data.get("codec_args"), space, layout, where))


def _codec_args(raw: Any, space: Space, layout: dict[str, int], where: str) -> dict[str, Any]:
    """Constructor arguments besides the layout; a repeated ``layout`` must agree with the file's."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise BadInput(f"{where}: 'codec_args' must be a mapping of {space.codec_name}'s constructor "
                       f"arguments")
    args = dict(raw)
    repeated = args.pop("layout", None)
    if repeated is not None:
        if not isinstance(repeated, dict):
            raise BadInput(f"{where}: codec_args.layout must be a mapping layer: width")
        merged = {**space.full_layout(), **repeated}
        if merged != layout:
            diff = next(k for k in layout if merged.get(k) != layout[k])
            raise BadInput(f"{where}: codec_args.layout and layout disagree on {diff!r} "
                           f"({merged.get(diff)} vs {layout[diff]})")
    return args


def open_layout(path: Path | str, space_name: str = "") -> tuple[Space, LayoutFile]:
    """The space a layout file names (its ``space`` key, else ``space_name``) and the file."""
    data = read_yaml(path)
    name = data.get("space") if isinstance(data, dict) else None
    if name is not None and not isinstance(name, str):
        raise BadInput(f"{path}: 'space' must name a space (e.g. space: fvc)")
    space = load_space(name or space_name or (data.get("codec") if isinstance(data, dict) else "") or "")
    return space, load_layout(path, space)


def layout_file(space: Space, layout: Mapping[str, int], resolution: tuple[int, int],
                gmacs: float | None, name: str = "") -> LayoutFile:
    return LayoutFile(codec=space.codec_name, space=space_reference(space), layout=dict(layout),
                      resolution=resolution, gmacs=gmacs, name=name)


def space_reference(space: Space) -> str:
    """How a layout file names its space: the bare name for ``spaces/<name>.yaml``, else the file's
    absolute path (:func:`~search.space.load.load_space` accepts both)."""
    try:
        if Path(space.path).resolve() == (SPACE_DIR / f"{space.name}.yaml").resolve():
            return space.name
    except OSError:
        pass
    return str(Path(space.path).resolve())
