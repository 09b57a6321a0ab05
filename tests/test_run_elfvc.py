"""ELF-VC through the commands: its structure report lists every decoder layer, and a tiny main job
(stage 1, stage 2, outer search, export) finishes with its summary and layouts."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from golden import structure_report
from search.space import load_space

ROOT = Path(__file__).resolve().parent.parent
SPACE = load_space("elfvc")
TINY = ["space=elfvc", "target_gmacs=[200,100]", "stage1_steps=1", "steps=2", "trials=4", "batch=1",
        "crop=64", "eval_gop_size=2", "val_count=3", "time_limit=0", "stage1_time_limit=0", "intra=pristine",
        "threads=2", "seed=0", "finetune_steps=1"]


def _command(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_structure_report_lists_every_decoder_layer():
    report = structure_report("elfvc")  # search.report's main in this process
    rows = [line for line in report.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == list(SPACE.layers)
    cells = {row.split("`")[1]: row.split("|")[2].strip() for row in rows}
    assert cells["flow_decoder.block1"] == "DM(64)" and cells["residue_decoder.block3"] == "DM(128)"
    assert cells["predictor.head"] == "S(64,2)↑↑" and cells["residue_decoder.fuse"] == "C(160,128)"
    assert "| *Decoder GMACs* | *251.335* |" in report
    assert "DM(c) Delayed-Merge block" in report and "grid_sampler" in report


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, tiny_test_set) -> Path:
    out = tmp_path_factory.mktemp("elfvc") / "run"
    _command("search.run", *TINY, f"test_data={tiny_test_set}", f"out={out}")
    return out


def test_tiny_main_job_finishes(tiny_run):
    summary = json.loads((tiny_run / "summary.json").read_text())
    assert summary["space"] == "elfvc" and [t["target_gmacs"] for t in summary["targets"]] == [200, 100]
    for row in summary["targets"]:
        chosen = row["chosen"]
        assert chosen["gmacs"] <= row["target_gmacs"]
        assert (tiny_run / chosen["layout_file"]).is_file() and (tiny_run / chosen["weights_file"]).is_file()
        exported = yaml.safe_load((tiny_run / chosen["layout_file"]).read_text())
        assert exported["codec"] == "elfvc" and set(exported["layout"]) == set(SPACE.layers)
        SPACE.choice_of(exported["layout"])  # a layout of the space, ties kept
    for name in ("report.md", "trials.csv", "pareto.png", "config.yaml"):
        assert (tiny_run / name).is_file(), name
