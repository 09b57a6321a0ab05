"""``python -m search.run space=fvc target_gmacs=[300,200,120]``: the main job.

What runs today: load the space and codec, load (or measure) the complexity profile, check the
targets against the space's achievable range, and write a run folder with the structure report of the
original decoder beside the uniform-slimming layouts (every searchable layer at the same option: the
SlimVC-style baseline), the nearest one at or below each target exported as a layout file.
The cgSlimDecoder supernet and the outer search plug in here once built (issues 4 and 5).
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from omegaconf import OmegaConf

from .cli import argv, option, parse
from .codec import ROOT
from .complexity import PROFILE_DIR, Complexity, load_or_measure, parse_resolution
from .errors import BadInput, cli_main
from .layout import layout_file
from .space import Space, load_space
from .tables import RENDERERS, Column, structure_table
from .yamlio import atomic_write


@dataclass
class RunConfig:
    space: str = option("fvc", "search space: a name in spaces/ or a path to a .yaml file")
    target_gmacs: list[float] = option([], "decoder GMAC targets, e.g. 150 or [300,200,120]")
    resolution: str = option("1920x1080", "frame size WIDTHxHEIGHT the GMACs are counted at")
    out: str = option("", "run folder (default results/<space>/<timestamp>)")
    profile_dir: str = option(str(PROFILE_DIR), "folder of stored profiles")


def uniform_layouts(space: Space) -> list[tuple[str, dict[str, int]]]:
    """One layout per option index, every searchable layer at that index (SlimVC-style slimming)."""
    count = max(space.group_sizes, default=1)
    return [(f"Uniform {i + 1}/{count}", space.uniform_layout(i)) for i in range(count)]


def check_targets(targets: list[float], low: float, high: float) -> list[float]:
    """Distinct targets, highest first (level 1); each within the space's achievable range."""
    for t in targets:
        if not low <= t <= high:
            raise BadInput(f"target_gmacs={t:g} is outside what the space can reach: "
                           f"[{low:.3f}, {high:.3f}] GMACs")
    return sorted(set(float(t) for t in targets), reverse=True)


def _targets(raw) -> list[float]:
    values = raw if isinstance(raw, list) else [raw]
    try:
        return [float(v) for v in values]
    except (TypeError, ValueError):
        raise BadInput(f"target_gmacs={raw!r}: expected a number or a list of numbers") from None


@cli_main
def main(args: list[str] | None = None) -> int:
    raw = argv() if args is None else args
    # `target_gmacs=150` is a scalar on the command line; the schema's field is a list.
    raw = [f"target_gmacs=[{a.split('=', 1)[1]}]" if a.startswith("target_gmacs=") and "[" not in a
           else a for a in raw]
    cfg = parse(RunConfig, raw, "search.run", __doc__.strip().split("\n\n")[1])
    resolution = parse_resolution(cfg.resolution)
    space = load_space(cfg.space)
    profile = load_or_measure(space, resolution, Path(cfg.profile_dir))
    complexity = Complexity(profile, space)
    low, high = complexity.range_gmacs()
    targets = check_targets(_targets(cfg.target_gmacs), low, high)
    out = Path(cfg.out) if cfg.out else ROOT / "results" / space.name / time.strftime("%Y%m%d-%H%M%S")

    uniform = uniform_layouts(space)
    columns = [Column("Original", space.full_layout())]
    columns += [Column(name, layout) for name, layout in uniform[1:]]
    table = structure_table(space, complexity, columns)
    for fmt, render in RENDERERS.items():
        atomic_write(out / f"report.{fmt}", render(table))
    atomic_write(out / "config.yaml", OmegaConf.to_yaml(OmegaConf.structured(cfg)))
    atomic_write(out / "profile.json", profile.to_json() + "\n")

    summary = {"space": space.name, "resolution": list(resolution), "range_gmacs": [low, high],
               "targets": []}
    print(f"{space.name}: decoder {high:.3f} GMACs at {cfg.resolution}; reachable [{low:.3f}, {high:.3f}]")
    for target in targets:
        name, layout = max(((n, lay) for n, lay in uniform if complexity.gmacs(lay) <= target),
                           key=lambda item: complexity.gmacs(item[1]))
        gmacs = complexity.gmacs(layout)
        layout_file(space, layout, resolution, gmacs, name=f"uniform@{target:g}").save(
            out / "layouts" / f"uniform@{target:g}.yaml")
        summary["targets"].append({"target_gmacs": target, "uniform_layout": name, "gmacs": gmacs})
        print(f"  target {target:8.3f}: uniform slimming {name} gives {gmacs:.3f} GMACs "
              f"({100 * (gmacs - target) / target:+.1f}%)")
    atomic_write(out / "summary.json", json.dumps(summary, indent=1) + "\n")
    print(f"report: {out / 'report.md'}")
    return 0


if __name__ == "__main__":
    main()
