"""Golden figures: a tiny fixed-seed main job and the structure reports of the built-in spaces.

They pin behaviour across refactoring: ``test_golden.py`` runs the same commands and compares layouts
and GMACs exactly and RD figures to 1e-6 relative. A change that alters behaviour on purpose
regenerates them (and says why in its commit)::

    python tests/golden.py            # rewrites tests/fixtures/golden/

Everything goes through the command line (``python -m search.run``, ``python -m search.report``),
whose keys are the stable interface.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "fixtures" / "golden"
SPACES = ("dvc", "fvc", "dcvc", "slimvc")

#: the tiny main job: DVC, two targets, a few steps, no time limits, one thread (bitwise repeatable)
MAIN_JOB = ["space=dvc", "target_gmacs=[400,200]", "stage1_steps=2", "stage1_time_limit=0", "steps=3",
            "time_limit=0", "trials=6", "batch=1", "crop=64", "eval_gop_size=2", "val_count=3",
            "threads=1", "seed=0", "intra_quick_steps=2", "finetune_steps=2"]


def run_main_job(out: Path) -> None:
    subprocess.run([sys.executable, "-m", "search.run", *MAIN_JOB, f"out={out}"], cwd=ROOT, check=True,
                   capture_output=True, text=True)


def structure_report(space: str) -> str:
    done = subprocess.run([sys.executable, "-m", "search.report", f"space={space}", "format=md"],
                          cwd=ROOT, check=True, capture_output=True, text=True)
    return done.stdout


def _log(path: Path) -> list[dict]:
    frame = pd.read_csv(path)
    return frame.drop(columns=[c for c in ("seconds",) if c in frame]).to_dict("records")


def main_job_figures(out: Path) -> dict:
    """What the tiny main job must reproduce: summary, trials, exported layouts and training logs."""
    summary = json.loads((out / "summary.json").read_text())
    summary.pop("weights_sha256", None)  # names the bytes of a checkpoint, not a figure to reproduce
    trials = pd.read_csv(out / "trials.csv")
    layouts = {p.stem: yaml.safe_load(p.read_text())["layout"]
               for p in sorted((out / "layouts").glob("*.yaml"))}
    return {"summary": summary,
            "trials": trials[["number", "gmacs", "rd_loss", "rd_noise", "bpp", "psnr", "source",
                              "params"]].to_dict("records"),
            "layouts": layouts,
            "stage1_log": _log(out / "supernet" / "stage1" / "log.csv"),
            "stage2_log": _log(out / "supernet" / "log.csv")}


def record() -> None:
    import tempfile

    GOLDEN.mkdir(parents=True, exist_ok=True)
    for space in SPACES:
        (GOLDEN / f"report_{space}.md").write_text(structure_report(space))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        run_main_job(out)
        figures = main_job_figures(out)
    (GOLDEN / "main_job.json").write_text(json.dumps(figures, indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")


if __name__ == "__main__":
    record()
