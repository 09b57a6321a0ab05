"""``python -m search.profile space=fvc resolution=1920x1080``: measure a complexity profile.

Runs fvcore once on the full-width decoder and writes ``profiles/<space>@<WxH>.json``: nominal and
padded size, versions, hashes of the codec and space files, per-module coefficients of the closed
form, per-module GMACs and the operators fvcore did not count.
"""
from __future__ import annotations

from pathlib import Path

from ..complexity import Complexity, load_or_measure, profile_path
from ..config import Command, argv, format_resolution, keys, parse_resolution
from ..config.keysets import DEVICE_KEY
from ..errors import cli_main
from ..paths import PROFILE_DIR
from ..pipeline.job import configure
from . import codecs_help

COMMAND = Command("search.profile", __doc__.split("\n")[0], keys(
    "space", "resolution", "profile_dir=profile.dir", "force=profile.force", DEVICE_KEY),
                  epilog=codecs_help)


@cli_main
def main(args: list[str] | None = None) -> int:
    cfg, space = (run := configure(COMMAND, argv() if args is None else args)).cfg, run.space
    resolution = parse_resolution(cfg.resolution)
    profile_dir = Path(cfg.profile.dir) if cfg.profile.dir else PROFILE_DIR
    profile = load_or_measure(space, resolution, profile_dir, force=cfg.profile.force,
                              device=run.runtime.device)
    complexity = Complexity(profile, space)
    print(f"{space.name} @ {format_resolution(profile.resolution)} "
          f"(padded {format_resolution(profile.padded)}): {profile_path(space, resolution, profile_dir)}")
    for name, macs in complexity.module_macs(space.full_layout()).items():
        counted = "" if name in complexity.decoder_modules else "  (not decoding cost)"
        print(f"  {name:<32} {macs / 1e9:10.3f} GMACs{counted}")
    low, high = complexity.range_gmacs()
    print(f"  {'decoder total':<32} {high:10.3f} GMACs (smallest layout {low:.3f})")
    print("  not counted by fvcore: " + ", ".join(f"{k} x{v}" for k, v in profile.uncounted_ops.items()))
    return 0


if __name__ == "__main__":
    main()
