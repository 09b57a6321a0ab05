"""The reference experiment: one resumable command that trains an image space on this machine, searches
three targets, fine-tunes chosen and uniform alike and evaluates them on held-out images.

``python bench/reference.py`` (re-run the same command to resume: every stage resumes from its
checkpoints and ``stage.json``; finished stages are never trained again) runs, in turn::

    python bench/heldout_images.py out=results/heldout-images
    python -m search.train space=slimcae preset=quick lmbda=1024 crop=128 batch=8 lr=5e-4 \
        steps=1000000 time_limit=2000 threads=1 out=results/reference/slimcae-stage1
    python -m search.run space=slimcae preset=quick target_gmacs=[30,15,8] lmbda=[256,512,1024,2048] \
        checkpoint=results/reference/slimcae-stage1/checkpoints/<newest>.pt crop=128 batch=8 lr=5e-4 \
        steps=1000000 time_limit=300 trials=16 threads=1 test_data=results/heldout-images \
        out=results/reference/slimcae

Why these settings rather than the quick preset's: at crop 64 SlimCAE's latent is 4x4 (stride 16) and
barely sees image structure; 128x128 crops of batch 8 at lr 5e-4 (Adam) let a factorized-prior codec
learn a usable transform within minutes. Stage 1 (the whole codec) trains once, at lambda 1024, for
2000 s; each lambda's stage 2 starts from it and trains the shared weights at its own lambda for 300 s (the outer search scores 16 sampled layouts per lambda)
(fine-tuning one pretrained model to the other rates, as learned codecs' lower-rate models commonly
are, instead of four stage-1 runs that a shared 2-core machine cannot afford in the time).
Extra ``key=value`` arguments go to both commands (e.g. ``threads=2`` on an idle machine). One torch thread: on a machine shared with other jobs two threads
wait on each other at every operation (measured here: 0.13 steps/s with two threads against ~2.5 alone).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SHARED = {"space": "slimcae", "preset": "quick", "crop": "128", "batch": "8", "lr": "5e-4",
          "steps": "1000000", "threads": "1"}
STAGE1 = {**SHARED, "lmbda": "1024", "time_limit": "2000", "out": "results/reference/slimcae-stage1"}
SEARCH = {**SHARED, "target_gmacs": "[30,15,8]", "lmbda": "[256,512,1024,2048]", "time_limit": "300", "trials": "16",
          "test_data": "results/heldout-images", "out": "results/reference/slimcae"}


def command(module: str, settings: dict[str, str], overrides: list[str]) -> list[str]:
    """``python -m <module>`` with ``settings`` and the ``key=value`` overrides."""
    settings = {**settings, **dict(a.partition("=")[::2] for a in overrides)}
    return [sys.executable, "-m", module, *(f"{k}={v}" for k, v in settings.items())]


def run(cmd: list[str]) -> int:
    print("$ python", " ".join(cmd[1:]), flush=True)
    return subprocess.call(cmd)


def main(argv: list[str]) -> int:
    rc = run([sys.executable, "bench/heldout_images.py", f"out={SEARCH['test_data']}"])
    rc = rc or run(command("search.train", STAGE1, argv))
    if rc:
        return rc
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from search.training import latest_checkpoint

    stage1 = latest_checkpoint(Path(STAGE1["out"]) / "checkpoints")
    return run(command("search.run", {**SEARCH, "checkpoint": str(stage1)}, argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
