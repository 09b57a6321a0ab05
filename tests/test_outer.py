"""The outer loop (search.outer): shared-weight scoring, the Optuna study in SQLite (enqueued first
trials, chosen architectures, resume, two processes on one folder) and the Ray Tune backend.

A tiny setup: the DVC space (the cheapest codec to run), an untrained full-width codec, two 64x64
validation pairs from the default clips, the stored 1920x1080 profile."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import optuna
import pytest

from search.paths import ROOT
from search.errors import BadInput
from search.config import OuterConfig
from search.outer import (STUDY_FILE, STUDY_NAME, first_layouts, param_names, params_of, run_study,
                          validation_pairs)
from search.nn.layers import load_sliced

SETUP = """
import torch
from search.complexity import Complexity, load_or_measure
from search.outer import LayoutScorer, validation_pairs
from search.space import load_space
torch.set_num_threads(1)
space = load_space("dvc")
complexity = Complexity(load_or_measure(space, (1920, 1080), write=False), space)
torch.manual_seed(0)
codec = space.codec().eval()
frames = validation_pairs("default", count=2, crop=64, seed=0, max_frames=8)
scorer = LayoutScorer(codec, 256.0, frames)
"""


@pytest.fixture(scope="module")
def setup():
    names: dict = {}
    exec(SETUP, names)  # the same set-up as the subprocesses of test_two_processes_one_folder
    space, complexity, scorer = names["space"], names["complexity"], names["scorer"]
    uniform = [complexity.gmacs(space.uniform_layout(i)) for i in range(3)]
    # two targets: between uniform 1 and 2, and between 2 and 3 (the full layout is infeasible)
    targets = [(uniform[0] + uniform[1]) / 2, (uniform[1] + uniform[2]) / 2]
    return space, complexity, scorer, targets


def _finished(path: Path):
    study = optuna.load_study(study_name=STUDY_NAME, storage=f"sqlite:///{path}")
    return study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))


def test_scorer_repeatable_and_equals_sliced(setup):
    space, _, scorer, _ = setup
    assert scorer.frames.shape == (2, 2, 3, 64, 64)
    layout = space.uniform_layout(1)
    a, b = scorer(layout), scorer(layout)
    assert a.rd_loss == b.rd_loss and a.bpp == b.bpp and a.psnr == b.psnr
    sliced = load_sliced(space.codec(layout), scorer.codec).eval()
    c = scorer.score_model(sliced)
    assert c.rd_loss == pytest.approx(a.rd_loss, rel=1e-4)
    assert c.bpp == pytest.approx(a.bpp, rel=1e-4)
    assert scorer(space.full_layout()).rd_loss != pytest.approx(a.rd_loss, rel=1e-6)
    assert scorer.codec.widths.mix.choices is None  # masks cleared again: a full forward equals the full
    assert scorer(space.full_layout()).rd_loss == scorer.score_model(scorer.codec).rd_loss


def test_study_enqueued_first_and_chosen_feasible(setup, tmp_path):
    space, complexity, scorer, targets = setup
    supernet = [("Level 1", space.layout_of([1, 2] * 8 + [1]))]
    result = run_study(scorer, space, complexity, targets, tmp_path, OuterConfig(trials=6), seed=0,
                       supernet_layouts=supernet, progress=False)
    assert (tmp_path / STUDY_FILE).is_file()
    frame = result.trials
    assert len(frame) == 6 and result.new_trials == 6
    expected = first_layouts(space, supernet)
    assert list(frame["source"][:4]) == ["enqueued-supernet"] + ["enqueued-uniform"] * 3
    for (_, name, layout), (_, row) in zip(expected, frame.iloc[:4].iterrows()):
        assert row["name"] == name
        assert json.loads(row["params"]) == params_of(space, layout)
        assert row["gmacs"] == pytest.approx(complexity.gmacs(layout))
    assert list(frame["source"][4:]) == ["sampled"] * 2
    for t in targets:
        chosen = result.chosen[t]
        assert chosen is not None and chosen.cost <= t
        feasible = frame[frame["gmacs"] <= t]
        assert chosen.rd_loss == feasible["rd_loss"].min()
        assert frame[f"feasible@{t:g}"].sum() == len(feasible)
    trials = _finished(tmp_path / STUDY_FILE)
    full = [t for t in trials if t.user_attrs.get("name") == "Uniform 1/3"][0]
    assert full.constraints["gmacs<=max_target"] > 0  # the full layout serves no target
    assert set(param_names(space)) == set(trials[0].params)


def test_resume_keeps_trials_and_repeats_none(setup, tmp_path):
    space, complexity, scorer, targets = setup
    first = run_study(scorer, space, complexity, targets, tmp_path, OuterConfig(trials=4), seed=3,
                      progress=False)
    assert len(first.trials) == 4
    second = run_study(scorer, space, complexity, targets, tmp_path, OuterConfig(trials=6), seed=3,
                       progress=False)
    assert second.new_trials == 2 and len(second.trials) == 6
    assert list(second.trials["number"][:4]) == list(first.trials["number"])
    assert second.trials["params"].is_unique
    again = run_study(scorer, space, complexity, targets, tmp_path, OuterConfig(trials=6), seed=3,
                      progress=False)
    assert again.new_trials == 0 and len(again.trials) == 6


def test_trials_carry_their_weights_and_other_weights_are_refused(setup, tmp_path):
    """Each trial records the hash of the weights that scored it; a study of other weights is not
    resumed (it would mix two supernets' RD losses), and stays as it was."""
    space, complexity, scorer, targets = setup
    ours, theirs = "a" * 64, "b" * 64
    first = run_study(scorer, space, complexity, targets, tmp_path, OuterConfig(trials=3), seed=3,
                      progress=False, weights_sha256=ours)
    assert first.trials["weights_sha256"].tolist() == [ours] * 3
    more = run_study(scorer, space, complexity, targets, tmp_path, OuterConfig(trials=4), seed=3,
                     progress=False, weights_sha256=ours)
    assert more.trials["weights_sha256"].tolist() == [ours] * 4
    with pytest.raises(BadInput, match="other weights .sha256 aaaaaaaaaaaa. than the supernet's now "
                                       ".sha256 bbbbbbbbbbbb."):
        run_study(scorer, space, complexity, targets, tmp_path, OuterConfig(trials=6), seed=3,
                  progress=False, weights_sha256=theirs)
    study = optuna.load_study(study_name=STUDY_NAME, storage=f"sqlite:///{tmp_path / STUDY_FILE}")
    assert len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))) == 4


def test_a_trial_left_by_a_kill_inside_ask_does_not_stall_the_study(setup, tmp_path):
    """A process killed within ``ask`` leaves a running trial with neither owner nor heartbeat (Optuna
    never finds it stale); the next run fails it and finishes its trials instead of waiting for ever."""
    import datetime

    space, complexity, scorer, targets = setup
    run_study(scorer, space, complexity, targets, tmp_path, OuterConfig(trials=2), seed=3, progress=False)
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / STUDY_FILE}")
    study_id = storage.get_study_id_from_name(STUDY_NAME)
    left = optuna.trial.FrozenTrial(
        number=-1, state=optuna.trial.TrialState.RUNNING, value=None, values=None,
        datetime_start=datetime.datetime.now() - datetime.timedelta(minutes=5), datetime_complete=None,
        params={}, distributions={}, user_attrs={}, system_attrs={}, intermediate_values={}, trial_id=-1)
    number = storage.get_trial(storage.create_new_trial(study_id, template_trial=left)).number
    result = run_study(scorer, space, complexity, targets, tmp_path, OuterConfig(trials=3), seed=3,
                       progress=False)
    assert len(result.trials) == 3 and number not in result.trials["number"].tolist()
    study = optuna.load_study(study_name=STUDY_NAME, storage=storage)
    assert study.trials[number].state == optuna.trial.TrialState.FAIL


def test_two_processes_one_folder(setup, tmp_path):
    _, _, _, targets = setup
    script = SETUP + textwrap.dedent(f"""
        import sys
        from search.config import OuterConfig
        from search.outer import run_study
        result = run_study(scorer, space, complexity, {targets!r}, sys.argv[1], OuterConfig(trials=4),
                           seed=int(sys.argv[2]), progress=False)
        print("new", result.new_trials)
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path), str(seed)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for seed in (0, 1)]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (stdout, stderr) in zip(procs, outs):
        assert p.returncode == 0, stderr[-2000:]
    news = [int(stdout.split("new")[-1]) for stdout, _ in outs]
    assert sum(news) == 4
    trials = _finished(tmp_path / STUDY_FILE)
    keys = [tuple(sorted(t.params.items())) for t in trials]
    assert len(trials) == 4 and len(set(keys)) == 4
    assert sum(t.user_attrs["source"] == "enqueued-uniform" for t in trials) == 3


def test_bad_input(setup, tmp_path):
    space, complexity, scorer, targets = setup
    for kwargs, word in [({"trials": 0}, "trials"), ({"trials": 2, "backend": "dask"}, "backend"),
                         ({"trials": 2, "backend": "ray", "ray_address": "not an address"},
                          "ray_address")]:
        with pytest.raises(BadInput, match=word) as err:
            run_study(scorer, space, complexity, targets, tmp_path / "x", OuterConfig(**kwargs),
                      progress=False)
        assert "\n" not in str(err.value)
    assert not (tmp_path / "x").exists()
    with pytest.raises(BadInput, match="crop"):
        validation_pairs(crop=50)
