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
            assert side["bpp_i"] > 0  # coded I-frames (x265's HEVC intra, the quick preset's default)
        assert 0 < uniform["width"] <= 1 and "note" in chosen and "rd_noise" in chosen
    assert not (out / "intra.pt").exists() and summary["finetune_steps"] == 2  # nothing to train
    tuned = {p.name.split("-")[0] + p.name.split("-")[1] for p in (out / "finetune").iterdir()}
    assert tuned == {"chosen200", "chosen400", "uniform200", "uniform400"}
    rate = summary["finetune_lr"]  # a tenth of the training lr, in every fine-tuning folder's name
    assert rate > 0 and all(p.name.endswith(f"-lr{rate:g}") for p in (out / "finetune").iterdir())
    assert summary["test_data_is"] == "held-out" and "bitstream" in summary["measured"]
    assert "no training frame" in summary["validation"]["decided_on"]
    for row in summary["targets"]:
        chosen, uniform = row["chosen"], row["uniform"]
        assert chosen["measured_on"] == "decision" and "rd_loss_finetuned" in uniform
        # the uniform side is compared at the chosen decoder's GMACs (read between two, or within 1%)
        assert abs(uniform["gmacs"] - chosen["gmacs"]) <= 0.01 * chosen["gmacs"]
        for key in ("psnr_db", "bpp", "rd_loss"):
            figure = row["chosen_vs_uniform"][key]
            assert figure["low"] <= figure["estimate"] <= figure["high"] and figure["verdict"] in (
                "better", "worse", "not distinguishable")
    exported = yaml.safe_load((out / "layouts" / "400.yaml").read_text())
    assert exported["codec"] == "dvc" and set(exported["layout"]) == set(load_space("dvc").layers)
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 6 and set(trials["source"]) >= {"enqueued-supernet", "enqueued-uniform"}
    report = (out / "report.md").read_text()
    assert "Chosen @400" in report and "Uniform @200" in report and "PSNR (dB)" in report
    assert not [p for p in out.rglob(".*") if p.is_file()], "temporary files left behind"


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


#: a tiny main job whose stages end by their time limits (the quick preset's case), killed in its
#: outer loop; the same command resumes it
KILLED = ["space=dvc", "target_gmacs=[400,200]", "stage1_steps=1000", "stage1_time_limit=2", "steps=1000",
          "time_limit=2", "checkpoint_every=1000", "trials=8", "batch=1", "crop=64", "eval_gop_size=2",
          "val_count=3", "threads=1", "seed=0", "intra=pristine", "finetune_steps=1"]
STAGES = ("supernet/stage1", "supernet")


def _complete_trials(out: Path) -> int:
    import sqlite3

    if not (out / "study.db").is_file():
        return 0
    try:
        with sqlite3.connect(out / "study.db", timeout=5) as db:
            return db.execute("SELECT count(*) FROM trials WHERE state = 'COMPLETE'").fetchone()[0]
    except sqlite3.OperationalError:  # the tables are not created yet
        return 0


def _trial_hashes(out: Path) -> dict[int, str]:
    import optuna

    study = optuna.load_study(study_name="outer", storage=f"sqlite:///{out / 'study.db'}")
    return {t.number: t.user_attrs.get("weights_sha256", "") for t in study.get_trials()
            if t.state == optuna.trial.TrialState.COMPLETE}


def _stage_files(out: Path) -> dict[str, str]:
    """Each stage's record, its checkpoints' names and its log: what a resume must leave as it is."""
    files = {}
    for stage in STAGES:
        folder = out / stage
        files[f"{stage}/stage.json"] = (folder / "stage.json").read_text()
        files[f"{stage}/log.csv"] = (folder / "log.csv").read_text()
        files[f"{stage}/checkpoints"] = " ".join(sorted(p.name for p in (folder / "checkpoints").iterdir()))
    return files


@pytest.fixture(scope="module")
def killed_run(tmp_path_factory, tiny_test_set):
    """The tiny job killed (SIGKILL) once three trials are scored: its folder, arguments, what it left
    and the seconds it ran."""
    import signal
    import time

    out = tmp_path_factory.mktemp("killed") / "run"
    args = KILLED + [f"test_data={tiny_test_set}", f"out={out}"]
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "search.run", *args], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while proc.poll() is None and time.perf_counter() - start < 240 and _complete_trials(out) < 3:
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    seconds = time.perf_counter() - start
    assert 3 <= _complete_trials(out) < 8, "not killed in the outer loop"
    return out, args, _stage_files(out), _trial_hashes(out), seconds


def test_a_killed_run_resumes_without_training_again(killed_run, capsys):
    """Both stages ended by their time limits before the kill: the same command trains neither again
    and scores the remaining trials with the same weights."""
    import time

    out, args, stages, hashes, first_s = killed_run
    for stage in STAGES:
        record = json.loads(stages[f"{stage}/stage.json"])
        assert record["finished"] and record["ended_by"] == "time_limit" and record["steps"] < 1000
    weights = json.loads(stages["supernet/stage.json"])["weights_sha256"]
    assert set(hashes.values()) == {weights}
    capsys.readouterr()
    start = time.perf_counter()
    assert main(args) == 0
    resume_s = time.perf_counter() - start
    printed = capsys.readouterr()
    assert _stage_files(out) == stages  # no step trained, no checkpoint written, the logs as they were
    assert printed.out.count("not trained again (extend=stage") == 2
    assert "resuming" not in printed.out and "stage" not in printed.err  # no stage's progress bar
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 8 and not trials["params"].duplicated().any()
    assert set(trials["weights_sha256"]) == {weights}
    assert set(hashes) <= set(trials["number"])  # the trials before the kill are kept
    assert json.loads((out / "summary.json").read_text())["weights_sha256"] == weights
    assert not [p for p in out.rglob(".*") if p.is_file()], "temporary files left behind"
    print(f"killed after {first_s:.1f} s; the resume took {resume_s:.1f} s")


def test_a_study_of_other_weights_is_refused(killed_run, run_folder, tmp_path, capsys):
    """The golden run's study (another supernet's trials) in this folder: one line, exit 2, the study
    untouched."""
    out, args, *_ = killed_run
    copy = tmp_path / "mixed"
    shutil.copytree(out, copy)
    shutil.copy(run_folder / "study.db", copy / "study.db")
    theirs = set(_trial_hashes(copy).values())
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main([*args, f"out={copy}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1 and "other weights" in err[0]
    assert next(iter(theirs))[:12] in err[0] and "out=" in err[0] and "extend=" in err[0]
    assert set(_trial_hashes(copy).values()) == theirs and len(_trial_hashes(copy)) == 6


def test_extend_trains_a_finished_stage_on(killed_run, tmp_path, capsys):
    """``extend=stage2``: stage 2 trains on from its last checkpoint for a fresh time limit; the study of
    its old weights is set aside and a new one scores with the new weights."""
    out, args, stages, *_ = killed_run
    copy = tmp_path / "extended"
    shutil.copytree(out, copy)
    before = json.loads((copy / "supernet" / "stage.json").read_text())
    assert main([*args, f"out={copy}", "extend=stage2", "time_limit=1", "trials=3"]) == 0
    after = json.loads((copy / "supernet" / "stage.json").read_text())
    assert after["finished"] and after["steps"] > before["steps"]
    assert after["weights_sha256"] != before["weights_sha256"]
    assert (copy / "supernet" / "stage1" / "stage.json").read_text() == stages["supernet/stage1/stage.json"]
    aside = copy / f"previous-{before['weights_sha256'][:12]}"
    assert len(pd.read_csv(aside / "trials.csv")) == 8 and (aside / "study.db").is_file()
    trials = pd.read_csv(copy / "trials.csv")
    assert len(trials) == 3 and set(trials["weights_sha256"]) == {after["weights_sha256"]}
    log = pd.read_csv(copy / "supernet" / "log.csv")
    assert log["step"].tolist() == list(range(1, after["steps"] + 1))
    # a step budget the stage has reached leaves nothing to train: refused before anything moves
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main([*args, f"out={copy}", "extend=stage2", f"steps={after['steps']}", "trials=3"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1 and f"give steps= above {after['steps']}" in err[0]
    assert len(pd.read_csv(copy / "trials.csv")) == 3


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


def test_exported_weights_reproduce_the_summary(run_folder, tmp_path):
    """``search.eval`` on ``layouts/<t>.yaml`` + ``weights/<t>.pt``, with the run's own evaluation
    settings and I-frame codec, gives the summary's chosen figures: the export is the measured model."""
    from search.commands import eval as eval_cli

    out = run_folder
    summary = json.loads((out / "summary.json").read_text())
    config = yaml.safe_load((out / "config.yaml").read_text())
    row = summary["targets"][0]
    chosen = row["chosen"]
    assert (out / "weights" / f"{row['target_gmacs']:g}.shared.pt").is_file()
    ev, intra = config["eval"], config["intra"]
    intra_keys = [f"intra={intra['mode']}"] + ([f"intra_checkpoint={out / 'intra.pt'}"]
                                               if intra["mode"] == "learned" else [])
    eval_cli.main([f"layout={out / chosen['layout_file']}", f"checkpoint={out / chosen['weights_file']}",
                   f"data={ev['data']}", f"gop_size={ev['gop_size']}", f"max_gops={ev['max_gops']}",
                   f"bitstream={str(ev['bitstream']).lower()}", *intra_keys,
                   f"lmbda=[{summary['lambda']}]", "threads=1", f"out={tmp_path / 'eval'}"])
    classes = pd.read_csv(tmp_path / "eval" / "classes.csv")
    for key in ("psnr", "bpp", "ms_ssim"):
        assert classes[key].mean() == pytest.approx(chosen[key], rel=1e-5), key
