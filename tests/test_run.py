"""The main job end to end on a tiny budget: every output, resume, and bad input."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from golden import MAIN_JOB
from search.commands.run import main
from search.space import load_space

ROOT = Path(__file__).resolve().parent.parent
TINY = MAIN_JOB  # the golden main job: DVC, two targets, a few steps, 6 trials


@pytest.fixture(scope="module")
def run_folder(golden_run, tmp_path_factory):
    """A copy of the golden run's folder (the resume test below extends it)."""
    out = tmp_path_factory.mktemp("run") / "dvc"
    shutil.copytree(golden_run, out)
    return out


def test_writes_everything(run_folder):
    out = run_folder
    for name in ("config.yaml", "profile.json", "summary.json", "report.md", "report.tex", "report.csv",
                 "pareto.png", "pareto.svg", "trials.csv", "study.db", "rd_points.csv"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    summary = json.loads((out / "summary.json").read_text())
    assert [row["target_gmacs"] for row in summary["targets"]] == [400.0, 200.0]
    for row in summary["targets"]:
        chosen, uniform = row["chosen"], row["uniform"]
        assert chosen["gmacs"] <= row["target_gmacs"] and uniform["gmacs"] <= row["target_gmacs"]
        assert -0.005 <= chosen["distance"] <= 0  # on the grid: within 0.5% below the target
        assert (out / chosen["layout_file"]).is_file() and (out / chosen["weights_file"]).is_file()
        for side in (chosen, uniform):
            assert {"gmacs", "psnr", "ms_ssim", "bpp", "bpp_i", "rd_loss"} <= set(side)
            assert side["bpp_i"] > 0  # coded I-frames (the quick codec, kept as intra.pt)
        assert 0 < uniform["width"] <= 1 and "note" in chosen and "rd_noise" in chosen
    assert (out / "intra.pt").is_file() and summary["finetune_steps"] == 2
    tuned = sorted(p.name.split("-")[0] + p.name.split("-")[1] for p in (out / "finetune").iterdir())
    assert tuned == ["chosen200", "chosen400", "uniform200", "uniform400"]
    exported = yaml.safe_load((out / "layouts" / "400.yaml").read_text())
    assert exported["codec"] == "dvc" and set(exported["layout"]) == set(load_space("dvc").layers)
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 6 and set(trials["source"]) >= {"enqueued-supernet", "enqueued-uniform"}
    report = (out / "report.md").read_text()
    assert "Chosen @400" in report and "Uniform @200" in report and "PSNR (dB)" in report
    assert not [p for p in out.rglob(".*") if p.is_file()], "temporary files left behind"


def test_same_command_resumes_without_repeating_trials(run_folder):
    before = pd.read_csv(run_folder / "trials.csv")
    assert main(TINY + [f"out={run_folder}", "trials=8"]) == 0
    after = pd.read_csv(run_folder / "trials.csv")
    assert len(after) == 8
    assert after["number"].head(6).tolist() == before["number"].tolist()
    assert not after["params"].duplicated().any()


def _run(*args):
    return subprocess.run([sys.executable, "-m", "search.run", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_help_and_bad_input(tmp_path, capsys):
    """The real command once (help, then one bad target); the other cases in-process, same code path."""
    shown = _run("--help")
    assert shown.returncode == 0 and "target_gmacs=" in shown.stdout and "backend=optuna" in shown.stdout
    result = _run("space=fvc", "target_gmacs=[5]", f"out={tmp_path / 'never'}")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and "Traceback" not in result.stderr
    assert "outside what the space can reach" in lines[0] and not (tmp_path / "never").exists()
    for args, words in [(["space=fvc", "trget_gmacs=[300]"], "target_gmacs"),
                        (["space=fvc", "target_gmacs=[300,300]"], "duplicated"),
                        (["space=fvc", "target_gmacs=[300]", "backend=spark"], "backend"),
                        (["space=fvc", "target_gmacs=[300]", "val_batches=4"], "val_batches=4")]:
        out = tmp_path / "never"
        capsys.readouterr()
        with pytest.raises(SystemExit) as exc:
            main([*args, f"out={out}"])
        err = capsys.readouterr().err
        lines = err.strip().splitlines()
        assert exc.value.code == 2, args
        assert len(lines) == 1 and words in lines[0] and "Traceback" not in err
        assert not out.exists()


def test_a_killed_run_resumes_with_the_same_command(tmp_path):
    """SIGKILL in the middle of stage 2; the same command finishes the job, repeating nothing."""
    import signal
    import time

    out = tmp_path / "killed"
    args = ["space=dvc", "target_gmacs=[400,200]", "stage1_steps=2", "steps=8", "checkpoint_every=2",
            "trials=7", "batch=1", "crop=64", "eval_gop_size=2", "val_count=3", "time_limit=0",
            "intra=pristine", "finetune_steps=1", f"out={out}"]
    proc = subprocess.Popen([sys.executable, "-m", "search.run", *args], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while proc.poll() is None and time.time() < deadline:
        if list((out / "supernet" / "checkpoints").glob("step_*.pt")):
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert main(args) == 0
    log = pd.read_csv(out / "supernet" / "log.csv")
    assert log["step"].tolist() == list(range(1, 9))
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 7 and not trials["params"].duplicated().any()
    assert json.loads((out / "summary.json").read_text())["trials"] == 7
    assert not [p for p in out.rglob(".*") if p.is_file()], "temporary files left behind"


def test_several_lambdas_give_rd_curves(tmp_path, tiny_test_set):
    """``lmbda=[...]``: one run per lambda in ``lambda-<l>/``, joined into RD points and, per target, the
    BD figures of the chosen architecture against uniform slimming."""
    out = tmp_path / "curves"
    args = ["space=dcvc", "target_gmacs=[300]", "lmbda=[256,2048]", "stage1_steps=2", "steps=2",
            "stage1_time_limit=0", "time_limit=0", "trials=3", "batch=1", "crop=64", "eval_gop_size=2",
            "val_count=3", "threads=2", "seed=0", "intra=pristine", "finetune_steps=1",
            f"test_data={tiny_test_set}", f"out={out}"]
    assert main(args) == 0
    for lmbda in (256, 2048):
        point = json.loads((out / f"lambda-{lmbda}" / "summary.json").read_text())
        assert point["lambda"] == lmbda and [r["target_gmacs"] for r in point["targets"]] == [300.0]
    points = pd.read_csv(out / "rd_points.csv")
    assert sorted(points["lambda"].unique()) == [256, 2048]
    assert {"Chosen @300", "Uniform @300"} <= set(points["layout"])
    for layout, curve in points.groupby("layout"):  # every curve has a point at each lambda
        assert sorted(curve["lambda"].unique()) == [256, 2048], layout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["lambdas"] == [256.0, 2048.0]
    (row,) = summary["targets"]
    assert [p["lambda"] for p in row["per_lambda"]] == [256.0, 2048.0]
    # two training steps give curves that may not overlap in quality: then the reason, not a crash
    assert row["bd_rate_vs_uniform"] is not None or "BD" in row["bd_note"]
