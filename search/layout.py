"""Layout files: one width per layer of a space, with the GMACs they cost at a resolution.

::

    codec: fvc
    space: fvc
    name: level1                  # optional label (a report column's header)
    resolution: 1920x1080
    gmacs: 300.123                # decoder GMACs at that resolution
    layout:
      Encoder.conv1: 64
      ...

Fixed layers may be left out (they are at full width). Later stages add the codec's constructor
arguments (``codec_args``) so that a layout file is a training config.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .complexity import format_resolution, parse_resolution
from .errors import BadInput
from .space import Space
from .yamlio import atomic_write, dump_yaml, read_yaml


@dataclass
class LayoutFile:
    codec: str
    space: str
    layout: dict[str, int]
    resolution: tuple[int, int] = (1920, 1080)
    gmacs: float | None = None
    name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_yaml(self) -> str:
        data: dict[str, Any] = {"codec": self.codec, "space": self.space}
        if self.name:
            data["name"] = self.name
        data["resolution"] = format_resolution(self.resolution)
        if self.gmacs is not None:
            data["gmacs"] = round(float(self.gmacs), 6)
        data.update(self.extra)
        data["layout"] = {k: int(v) for k, v in self.layout.items()}
        return dump_yaml(data)

    def save(self, path: Path | str) -> Path:
        return atomic_write(path, self.to_yaml())


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
    extra = {k: v for k, v in data.items()
             if k not in ("codec", "space", "name", "resolution", "gmacs", "layout")}
    resolution = parse_resolution(data.get("resolution", "1920x1080"))
    return LayoutFile(codec=codec, space=str(data.get("space", space.name)),
                      layout={k: int(v) for k, v in layout.items()}, resolution=resolution,
                      gmacs=data.get("gmacs"), name=str(data.get("name") or path.stem), extra=extra)


def layout_file(space: Space, layout: Mapping[str, int], resolution: tuple[int, int],
                gmacs: float | None, name: str = "") -> LayoutFile:
    return LayoutFile(codec=space.codec_name, space=space.name, layout=dict(layout),
                      resolution=resolution, gmacs=gmacs, name=name)
