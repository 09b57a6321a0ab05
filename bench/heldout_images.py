"""Write scikit-image's bundled colour photographs as a held-out image test set, one PNG folder each.

``python bench/heldout_images.py out=results/heldout-images`` writes ``<out>/<name>/im1.png`` for each
image (each folder is one test sequence of ``search.eval`` / ``test_data=``). These images ship inside
the scikit-image wheel (no download) and are never part of the training data (the bundled clips).
"""
from __future__ import annotations

import sys
from pathlib import Path

#: scikit-image's bundled colour photographs (``skimage.data.<name>()``, all RGB)
IMAGES = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry")


def write_images(out: Path) -> list[Path]:
    """Write each image once (an existing file is kept) and return the PNG paths."""
    import skimage.data
    from PIL import Image

    paths = []
    for name in IMAGES:
        path = out / name / "im1.png"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            image = getattr(skimage.data, name)()
            tmp = path.with_suffix(".tmp.png")
            Image.fromarray(image[..., :3]).save(tmp)
            tmp.replace(path)
        paths.append(path)
    return paths


def main(argv: list[str]) -> int:
    args = dict(a.split("=", 1) for a in argv if "=" in a)
    unknown = [a for a in argv if "=" not in a or a.split("=", 1)[0] != "out"]
    if unknown:
        print(f"unknown argument {unknown[0]!r}: expected out=<folder>", file=sys.stderr)
        return 2
    paths = write_images(Path(args.get("out", "results/heldout-images")))
    for p in paths:
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
