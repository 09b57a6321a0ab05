"""The structure report of a space: the original decoder and each layout file given, one column each."""
from __future__ import annotations

from ..config import Config, parse_resolution
from ..errors import BadInput
from ..reports import RENDERERS, Column, structure_table
from ..space import Space, load_layout
from .job import load_complexity


def render_report(cfg: Config, space: Space) -> str:
    """``cfg.report.layouts`` (comma-separated files) as columns beside the original, rendered in
    ``cfg.report.format``; every input is checked before a profile is measured."""
    fmt = cfg.report.format
    if fmt not in RENDERERS:
        raise BadInput(f"format={fmt!r}: expected one of {', '.join(RENDERERS)}")
    parse_resolution(cfg.resolution)
    columns = [Column("Original", space.full_layout())]
    for path in (p.strip() for p in cfg.report.layouts.split(",") if p.strip()):
        layout = load_layout(path, space)
        columns.append(Column(layout.name, layout.layout))
    return RENDERERS[fmt](structure_table(space, load_complexity(cfg, space), columns))
