"""The reference experiment: one resumable command that trains an image space on this machine, searches
three targets, fine-tunes chosen and uniform alike and evaluates them on held-out images.

``python bench/reference.py`` (re-run the same command to resume: every stage resumes from its
checkpoints and ``stage.json``; finished stages are never trained again) runs::

    python bench/heldout_images.py out=results/heldout-images
    python -m search.run space=slimcae preset=quick target_gmacs=[30,15,8] lmbda=[256,512,1024,2048] \
        crop=128 batch=8 lr=5e-4 stage1_steps=1000000 steps=1000000 stage1_time_limit=660 \
        time_limit=240 threads=2 test_data=results/heldout-images out=results/reference/slimcae

Why these settings rather than the quick preset's: at crop 64 SlimCAE's latent is 4x4 (stride 16) and
barely sees image structure; 128x128 crops of batch 8 at lr 5e-4 (Adam) let a factorized-prior codec
learn a usable transform within minutes on 2 cores. The time limits (11 min stage 1, 4 min stage 2 per
lambda) fit four lambdas, their searches and verdicts into about 75 minutes of a shared 2-core machine.
Extra ``key=value`` arguments are passed on to ``search.run`` (e.g. ``out=`` or ``threads=``).
"""
from __future__ import annotations

import subprocess
import sys

SETTINGS = {
    "space": "slimcae", "preset": "quick", "target_gmacs": "[30,15,8]",
    "lmbda": "[256,512,1024,2048]", "crop": "128", "batch": "8", "lr": "5e-4",
    "stage1_steps": "1000000", "steps": "1000000", "stage1_time_limit": "660", "time_limit": "240",
    "threads": "2", "test_data": "results/heldout-images", "out": "results/reference/slimcae",
}


def command(overrides: list[str]) -> list[str]:
    """The ``search.run`` command line of the reference experiment with ``key=value`` overrides."""
    settings = dict(SETTINGS)
    for arg in overrides:
        key, _, value = arg.partition("=")
        settings[key] = value
    return [sys.executable, "-m", "search.run", *(f"{k}={v}" for k, v in settings.items())]


def main(argv: list[str]) -> int:
    test_data = dict(SETTINGS, **dict(a.partition("=")[::2] for a in argv))["test_data"]
    rc = subprocess.call([sys.executable, "bench/heldout_images.py", f"out={test_data}"])
    if rc:
        return rc
    cmd = command(argv)
    print("$", " ".join(cmd[1:]), flush=True)
    return subprocess.call(cmd)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
