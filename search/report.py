"""``python -m search.report space=fvc [layouts=a.yaml,b.yaml] [format=md|tex|csv]``.

Prints (or writes to ``out=``) the Table S1-S3 style structure table of a space: the original decoder
and each given layout, one row per layer in the paper's notation, GMAC rows per module and in total.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .cli import argv, option, parse
from .complexity import PROFILE_DIR, Complexity, load_or_measure, parse_resolution
from .errors import BadInput, cli_main
from .layout import load_layout
from .space import load_space
from .tables import RENDERERS, Column, structure_table
from .yamlio import atomic_write


@dataclass
class ReportConfig:
    space: str = option("fvc", "search space: a name in spaces/ or a path to a .yaml file")
    layouts: str = option("", "comma-separated layout files, one column each")
    format: str = option("md", "md, tex or csv")
    resolution: str = option("1920x1080", "frame size WIDTHxHEIGHT for the GMAC rows")
    out: str = option("", "write the report to this file instead of printing it")
    profile_dir: str = option(str(PROFILE_DIR), "folder of stored profiles")


def render_report(space_name: str, layout_paths: list[str], fmt: str, resolution: str,
                  profile_dir: Path = PROFILE_DIR) -> str:
    if fmt not in RENDERERS:
        raise BadInput(f"format={fmt!r}: expected one of {', '.join(RENDERERS)}")
    size = parse_resolution(resolution)
    space = load_space(space_name)
    columns = [Column("Original", space.full_layout())]
    for path in layout_paths:
        lf = load_layout(path, space)
        columns.append(Column(lf.name, lf.layout))
    complexity = Complexity(load_or_measure(space, size, Path(profile_dir)), space)
    return RENDERERS[fmt](structure_table(space, complexity, columns))


@cli_main
def main(args: list[str] | None = None) -> int:
    cfg = parse(ReportConfig, argv() if args is None else args, "search.report",
                __doc__.strip().split("\n\n")[1])
    paths = [p.strip() for p in cfg.layouts.split(",") if p.strip()]
    text = render_report(cfg.space, paths, cfg.format, cfg.resolution, Path(cfg.profile_dir))
    if cfg.out:
        print(f"wrote {atomic_write(cfg.out, text)}")
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    main()
