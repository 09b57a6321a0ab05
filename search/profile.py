"""``python -m search.profile space=fvc resolution=1920x1080``: measure a complexity profile.

Runs fvcore once on the full-width decoder and writes ``profiles/<space>@<WxH>.json``: nominal and
padded size, versions, hashes of the codec and space files, per-module coefficients of the closed
form, per-module GMACs and the operators fvcore did not count.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .cli import argv, option, parse
from .complexity import (PROFILE_DIR, Complexity, format_resolution, load_or_measure,
                         parse_resolution, profile_path)
from .errors import cli_main
from .space import load_space


@dataclass
class ProfileConfig:
    space: str = option("fvc", "search space: a name in spaces/ or a path to a .yaml file")
    resolution: str = option("1920x1080", "frame size WIDTHxHEIGHT (padded to the codec's multiple)")
    profile_dir: str = option(str(PROFILE_DIR), "folder of stored profiles")
    force: bool = option(False, "measure again even if a stored profile is current")


@cli_main
def main(args: list[str] | None = None) -> int:
    cfg = parse(ProfileConfig, argv() if args is None else args, "search.profile", __doc__.split("\n")[0])
    resolution = parse_resolution(cfg.resolution)
    space = load_space(cfg.space)
    if cfg.force:
        profile_path(space, resolution, Path(cfg.profile_dir)).unlink(missing_ok=True)
    profile = load_or_measure(space, resolution, Path(cfg.profile_dir))
    complexity = Complexity(profile, space)
    full = space.full_layout()
    print(f"{space.name} @ {format_resolution(profile.resolution)} "
          f"(padded {format_resolution(profile.padded)}): "
          f"{profile_path(space, resolution, Path(cfg.profile_dir))}")
    for name, macs in complexity.module_macs(full).items():
        counted = "" if name in complexity.decoder_modules else "  (not decoding cost)"
        print(f"  {name:<32} {macs / 1e9:10.3f} GMACs{counted}")
    low, high = complexity.range_gmacs()
    print(f"  {'decoder total':<32} {high:10.3f} GMACs (smallest layout {low:.3f})")
    print("  not counted by fvcore: " + ", ".join(f"{k} x{v}" for k, v in profile.uncounted_ops.items()))
    return 0


if __name__ == "__main__":
    main()
