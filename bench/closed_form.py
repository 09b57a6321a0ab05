"""Closed-form GMACs vs fvcore, layouts per second, on a space at a resolution.

    python bench/closed_form.py [space=fvc] [resolution=1920x1080] [fvcore_layouts=2] [batch=1000000]

Both count the same thing (tests check they agree to the MAC); this measures how much cheaper the
closed form is. fvcore builds the decoder at each layout and traces it at full resolution.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from search.complexity import Complexity, fvcore_macs, load_or_measure  # noqa: E402
from search.config import parse_resolution  # noqa: E402
from search.space import load_space  # noqa: E402


def main(argv: list[str]) -> None:
    args = dict(a.split("=", 1) for a in argv)
    space = load_space(args.get("space", "fvc"))
    resolution = parse_resolution(args.get("resolution", "1920x1080"))
    n_fvcore = int(args.get("fvcore_layouts", 2))
    batch = int(args.get("batch", 1_000_000))
    complexity = Complexity(load_or_measure(space, resolution), space)
    rng = np.random.default_rng(0)

    choices = space.random_choices(batch, rng)
    complexity.gmacs_of_choices(choices[:1000])  # warm-up
    repeats, start = 3, time.perf_counter()
    for _ in range(repeats):
        gmacs = complexity.gmacs_of_choices(choices)
    closed_rate = repeats * batch / (time.perf_counter() - start)

    layouts = [space.layout_of(c) for c in choices[:n_fvcore]]
    start = time.perf_counter()
    for layout in layouts:
        measured = fvcore_macs(space, layout, resolution)
    fvcore_rate = n_fvcore / (time.perf_counter() - start)
    decoder = sum(measured[m.name] for m in space.decoder_modules)
    assert decoder == complexity.macs(layouts[-1]), "closed form and fvcore disagree"

    print(f"space={space.name} resolution={args.get('resolution', '1920x1080')} "
          f"layers={len(space.layers)} choices={len(space.groups)}")
    print(f"closed form: {closed_rate:,.0f} layouts/s  ({batch:,} layouts x {repeats}, "
          f"GMACs {gmacs.min():.1f}..{gmacs.max():.1f})")
    print(f"fvcore:      {fvcore_rate:,.4f} layouts/s  ({n_fvcore} layouts)")
    print(f"ratio:       {closed_rate / fvcore_rate:,.0f}x")


if __name__ == "__main__":
    main(sys.argv[1:])
