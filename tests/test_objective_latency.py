"""``objective=latency``: decode time as the search's cost, through stage 2, the landing, the outer loop
and the reports, beside the GMACs.

The GMAC closed form and the decode-time table keep one contract (:class:`search.complexity.Cost`);
the tests here check the table as a cost (landing, the differentiable penalty's form), the one-line
errors of the objective's keys, and a tiny main job under time targets end to end: its levels land on
the predicted targets, every reported decoder carries its GMACs and its measured time.
"""
import json
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
import torch

from search.commands.run import main
from search.complexity import Complexity, Cost, load_or_measure
from search.space import load_space
from search.stage2 import land
from search.stage2.gumbel.selection import SampledComplexity
from search.timing import LatencyModel, LatencySettings, load_or_measure_latency

RESOLUTION = (64, 64)
SETTINGS = LatencySettings(threads=1, repeats=1, layouts=3, seed=0)  # as the jobs below ask


@pytest.fixture(scope="module")
def costs(tmp_path_factory):
    """DCVC's GMAC closed form and decode-time table at 64x64 (the table measured once, here)."""
    folder = tmp_path_factory.mktemp("profiles")
    space = load_space("dcvc")
    complexity = Complexity(load_or_measure(space, RESOLUTION, folder, log=lambda *a, **k: None), space)
    table = load_or_measure_latency(space, RESOLUTION, SETTINGS, folder, log=lambda *a, **k: None)
    return space, complexity, LatencyModel(table, space), folder


def test_both_costs_keep_the_contract(costs):
    space, complexity, latency, _ = costs
    for cost in (complexity, latency):
        assert isinstance(cost, Cost)
        choices = space.random_choices(5, np.random.default_rng(0))
        values = cost.of_choices(choices)
        layouts = [space.layout_of(list(c)) for c in choices]
        assert values == pytest.approx([cost.of_layout(lay) for lay in layouts], rel=1e-9)
        low, high = cost.range()
        assert 0 < low < high == pytest.approx(cost.of_layout(space.full_layout()))
    assert complexity.name == "gmacs" and latency.name == "ms" and latency.unit == "ms"


def test_the_penalty_sees_the_table_exactly(costs):
    """Stage 2's sampled cost of one-hot choices equals the table's prediction of that layout."""
    space, _, latency, _ = costs
    sampled = SampledComplexity(latency)
    for index in range(max(space.group_sizes)):
        choice = [min(index, n - 1) for n in space.group_sizes]
        one_hot = [torch.nn.functional.one_hot(torch.tensor(c), n).double()
                   for c, n in zip(choice, space.group_sizes)]
        assert float(sampled(one_hot)) == pytest.approx(latency.of_layout(space.layout_of(choice)), rel=1e-9)


def test_landing_on_a_time_target(costs):
    """The exact landing takes the table like the closed form: within the band below the ms target."""
    space, _, latency, _ = costs
    low, high = latency.range()
    scores = [np.zeros(n) for n in space.group_sizes]
    for target in (low + 0.6 * (high - low), low + 0.3 * (high - low)):
        landing = land(latency, scores, target, tolerance=0.05)
        assert landing.unit == "ms" and landing.value <= target
        assert landing.value == pytest.approx(latency.of_layout(space.layout_of(landing.choice)))
        if landing.reachable:
            assert landing.value >= 0.95 * target


@pytest.mark.parametrize("args, words", [
    (["objective=speed", "target_gmacs=[300]"], "objective=speed"),
    (["objective=latency", "target_gmacs=[300]"], "target_gmacs= with objective=latency"),
    (["target_gmacs=[300]", "target_ms=[50]"], "target_ms= with objective=gmacs"),
    (["objective=latency", "target_ms=[50]", "latency_threads=-1"], "threads"),
    (["target_gmacs=[300]", "pareto_gmacs=true"], "needs objective=latency"),
    (["objective=latency", "target_ms=[50]", "latency_precision=fp8"], "precision"),
    (["objective=latency", "target_ms=[50]", "landing_tolerance=2"], "landing_tolerance=2"),
    (["objective=latency", "target_ms=[50]", "landing_rounds=-1"], "landing_rounds=-1"),
])
def test_objective_keys_fail_first_in_one_line(args, words, tmp_path, capsys):
    """Each a single line and exit 2, before any table is measured or folder made."""
    profiles, out = tmp_path / "profiles", tmp_path / "never"
    with pytest.raises(SystemExit) as exc:
        main(["space=dcvc", "resolution=64x64", f"profile_dir={profiles}", *args, f"out={out}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1 and words in err[0], err
    assert not out.exists() and not list(profiles.glob("*.latency.json"))


def test_a_time_target_outside_the_table_is_refused_in_ms(costs, capsys, tmp_path):
    _, _, latency, folder = costs
    with pytest.raises(SystemExit) as exc:
        main(["space=dcvc", "resolution=64x64", f"profile_dir={folder}", "objective=latency",
              "target_ms=[1e6]", "latency_threads=1", "latency_repeats=1", "latency_layouts=3",
              f"out={tmp_path / 'never'}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1 and "target_ms" in err[0] and "ms" in err[0]


@pytest.fixture(scope="module")
def latency_run(costs, tmp_path_factory, tiny_test_set):
    """A tiny main job under two time targets, the table shared with the fixture above."""
    _, _, latency, folder = costs
    low, high = latency.range()
    targets = [round(low + f * (high - low), 2) for f in (0.8, 0.4)]
    out = tmp_path_factory.mktemp("latency") / "run"
    assert main(["space=dcvc", "resolution=64x64", f"profile_dir={folder}", "objective=latency",
                 f"target_ms=[{targets[0]},{targets[1]}]", "latency_threads=1", "latency_repeats=1",
                 "latency_layouts=3", "stage1_steps=2", "steps=3", "stage1_time_limit=0", "time_limit=0",
                 "trials=5", "batch=1", "crop=64", "eval_gop_size=2", "val_count=3", "threads=1",
                 "seed=0", "intra=pristine", "finetune_steps=1", "tolerance=0.05", "pareto_gmacs=true",
                 f"test_data={tiny_test_set}", f"out={out}"]) == 0
    return out, targets


def test_levels_land_on_time_targets(latency_run):
    out, targets = latency_run
    summary = json.loads((out / "summary.json").read_text())
    assert summary["objective"]["name"] == "latency" and summary["objective"]["unit"] == "ms"
    for level, target in zip(summary["supernet_levels"], targets):
        assert level["target_ms"] == target and level["landed_ms"] <= target
        assert {"gmacs", "predicted_ms", "measured_ms", "measured_distance"} <= set(level)
        assert level["predicted_ms"] == pytest.approx(level["landed_ms"])


def test_every_decoder_has_its_gmacs_and_its_time(latency_run):
    out, targets = latency_run
    summary = json.loads((out / "summary.json").read_text())
    assert {"gmacs", "measured_ms", "predicted_ms"} <= set(summary["original"])
    for row in summary["targets"]:
        assert row["target_ms"] in targets
        chosen, clock = row["chosen"], row["landing_on_measured_time"]
        assert chosen["gmacs"] > 0 and chosen["measured_ms"] > 0
        # the outer loop's layout is predicted within the target; a move aims the prediction elsewhere
        assert clock["rounds"][0]["predicted_ms"] <= row["target_ms"]
        kept = clock["rounds"][clock["kept_round"]]
        assert chosen["ms"] == pytest.approx(kept["predicted_ms"])
        assert chosen["measured_distance"] == pytest.approx(
            (chosen["measured_ms"] - row["target_ms"]) / row["target_ms"])
        if "uniform" in row:
            assert {"ms", "gmacs", "measured_ms"} <= set(row["uniform"])
    assert {"outer search", "verdicts (fine-tuning, test sequences)"} <= set(summary["wall_seconds"])
    assert all(seconds >= 0 for seconds in summary["wall_seconds"].values())
    trials = pd.read_csv(out / "trials.csv")
    assert {"ms", "gmacs"} <= set(trials.columns) and (trials["gmacs"] > 0).all()
    study = optuna.load_study(study_name="outer", storage=f"sqlite:///{out / 'study.db'}")
    assert study.metric_names == ["ms", "rd_loss", "gmacs"]  # pareto_gmacs=true: three objectives
    assert all(t.values[2] == pytest.approx(t.user_attrs["gmacs"]) for t in study.best_trials)
    report = (out / "report.md").read_text()
    assert "decode time, measured (ms)" in report and "decode time, predicted (ms)" in report
    layout = next(Path(out / "layouts").glob("*.yaml")).read_text()
    assert "target_ms" in layout
