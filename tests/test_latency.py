"""Decode-time tables (``search.timing``, ``python -m search.latency``): the table's JSON, the latency
model's quadratic form against the direct per-module sum, stale tables, the settings' and the
command's one-line errors. Tiny frames (64x64), one run per decoder: seconds in all."""
from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
import torch

from search.commands import latency as latency_cli
from search.complexity import Complexity, load_or_measure
from search.errors import BadInput
from search.space import load_space
from search.timing import (LatencyModel, LatencySettings, LatencyTable, latency_path,
                           load_or_measure_latency, measure_decoder_ms)
from search.timing.fit import groups_of
from search.timing.table import width_value

TINY = dict(threads=1, repeats=1, warmup=0, layouts=3)


def _quiet(*args, **kwargs) -> None:
    pass


@pytest.fixture(scope="module")
def fvc_table(tmp_path_factory):
    """FVC at 64x64: modules of no, one, two and three groups (its refinement conv concatenates)."""
    space = load_space("fvc")
    folder = tmp_path_factory.mktemp("latency")
    return space, load_or_measure_latency(space, (64, 64), LatencySettings(**TINY), folder, log=_quiet)


def _direct_ms(table: LatencyTable, space, layout) -> float:
    """The per-module sum written out: each module's cell at its (a, b) (its fit where it has no
    cell, or depends on more than two groups), then the calibration."""
    total = 0.0
    for m in table.modules:
        a, b = width_value(m.a, layout), width_value(m.b, layout)
        cells = {(c[0], c[1]): c[2] for c in m.cells}
        use_fit = len(groups_of(m, space)) > 2 or (a, b) not in cells
        total += m.fit[0] + m.fit[1] * a * b if use_fit else cells[(a, b)]
    return table.alpha * total + table.beta


def _one_hot(model: LatencyModel, choice) -> np.ndarray:
    x = np.zeros(model.unit_q.shape[0])
    x[model.offsets + np.asarray(choice)] = 1
    x[-1] = 1
    return x


def test_the_table_round_trips_through_json(fvc_table):
    space, table = fvc_table
    again = LatencyTable.from_json(table.to_json())
    assert again == table
    np.testing.assert_array_equal(LatencyModel(again, space).unit_q, LatencyModel(table, space).unit_q)
    data = json.loads(table.to_json())
    assert data["resolution"] == "64x64" and data["hashes"] == space.hashes()
    assert data["settings"]["threads"] == 1 and data["versions"]["torch"] == torch.__version__


def test_the_quadratic_form_is_the_direct_per_module_sum(fvc_table):
    space, table = fvc_table
    model = LatencyModel(table, space)
    assert any(len(groups_of(m, space)) > 2 for m in table.modules)  # the fit fallback is covered
    n = sum(space.group_sizes) + 1
    assert model.unit_q.shape == (n, n) and np.allclose(model.unit_q, model.unit_q.T)
    profile = load_or_measure(space, (1920, 1080), write=False)
    np.testing.assert_array_equal(model.offsets, Complexity(profile, space).offsets)
    assert model.offsets.dtype == np.int64 and (model.unit, model.name) == ("ms", "ms")
    for choice in space.random_choices(20, np.random.default_rng(5)):
        x = _one_hot(model, choice)
        direct = _direct_ms(table, space, space.layout_of(choice))
        assert x @ model.unit_q @ x == pytest.approx(direct, rel=1e-9)


def test_choices_and_layouts_give_the_same_prediction(fvc_table):
    space, table = fvc_table
    model = LatencyModel(table, space)
    choices = space.random_choices(30, np.random.default_rng(6))
    by_layout = [model.of_layout(space.layout_of(c)) for c in choices]
    np.testing.assert_allclose(model.of_choices(choices), by_layout, rtol=1e-9)
    low, high = model.range()
    smallest = [n - 1 for n in space.group_sizes]
    assert low == pytest.approx(model.of_choices([smallest])[0]) and low < high
    assert high == pytest.approx(model.of_layout(space.full_layout()))
    # off the grid the fits fill in (at 64x64 under load a fit's intercept may be negative: only finite
    # is certain there)
    assert np.isfinite(model.of_layout(space.scaled_layout(0.6)))


def test_the_calibration_is_fitted_and_the_error_recorded(fvc_table):
    space, table = fvc_table
    assert table.alpha > 0 and len(table.heldout) == 3
    assert len(table.design) == max(space.group_sizes) + 2
    held = {tuple(r.choice) for r in table.heldout}
    assert not held & {tuple(r.choice) for r in table.design}
    for r in table.heldout:
        assert r.predicted_ms == pytest.approx(table.alpha * r.sum_ms + table.beta)
        assert r.min_ms <= r.measured_ms <= r.max_ms
    assert 0 <= table.errors["calibrated_mean"] <= table.errors["calibrated_max"]


def test_a_stale_table_is_measured_again(tmp_path):
    space = load_space("slimcae")
    settings = LatencySettings(**TINY)
    said = []

    def log(*words, **kwargs):
        said.append(" ".join(map(str, words)))
    first = load_or_measure_latency(space, (64, 64), settings, tmp_path, log=log)
    path = latency_path(space, (64, 64), settings, tmp_path)
    assert path.name == "slimcae@64x64.cpu.t1.latency.json" and len(said) == 1
    assert load_or_measure_latency(space, (64, 64), settings, tmp_path, log=log) == first
    assert len(said) == 1  # reused, nothing measured
    data = json.loads(path.read_text())
    data["hashes"]["codec"] = "0" * 16
    path.write_text(json.dumps(data))
    again = load_or_measure_latency(space, (64, 64), settings, tmp_path, log=log)
    assert "stale (codec file changed)" in said[-1] and again.hashes == space.hashes()
    other = LatencySettings(**{**TINY, "repeats": 2})
    load_or_measure_latency(space, (64, 64), other, tmp_path, log=log)
    assert "measured with other settings" in said[-1]


def test_decoders_are_timed_whole_and_threads_restored():
    space = load_space("slimcae")
    before = torch.get_num_threads()
    timing = measure_decoder_ms(space, space.full_layout(), (64, 64),
                                LatencySettings(threads=1, repeats=3, warmup=1))
    assert torch.get_num_threads() == before
    assert timing.repeats == 3 and 0 < timing.min_ms <= timing.median_ms <= timing.max_ms


def test_timing_a_given_decoder_leaves_it_as_it_was():
    """Timing in another precision works on a copy: the caller's decoder (a fine-tuned side the
    verdict evaluates next) keeps its dtype and weights."""
    space = load_space("slimcae")
    model = space.codec(space.full_layout()).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    measure_decoder_ms(space, space.full_layout(), (64, 64),
                       LatencySettings(threads=1, repeats=1, warmup=0, precision="bf16"), model)
    after = model.state_dict()
    assert all(after[k].dtype == v.dtype and torch.equal(after[k], v) for k, v in before.items())


@pytest.mark.parametrize("changes, words", [
    ({"device": "gpu"}, "device='gpu'"), ({"runtime": "tvm"}, "runtime='tvm'"),
    ({"runtime": "onnxruntime"}, "python -m search.export"), ({"precision": "fp8"}, "precision='fp8'"),
    ({"threads": 0}, "threads=0"), ({"repeats": 0}, "repeats=0"), ({"layouts": 1}, "layouts=1"),
    ({"warmup": -1}, "warmup=-1")])
def test_settings_are_checked_in_one_line(changes, words):
    with pytest.raises(ValueError) as err:
        LatencySettings(**changes)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_the_file_name_carries_the_settings_that_differ():
    space = load_space("fvc")
    name = latency_path(space, (448, 256), LatencySettings()).name
    assert name == "fvc@448x256.cpu.latency.json"
    assert LatencySettings(threads=4, precision="bf16").file_tag() == "cpu.t4.bf16"


def _run(args: list[str]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = latency_cli.main(args)
        except SystemExit as stop:
            code = stop.code
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("args", [
    ["bogus=1"], ["space=nope"], ["resolution=0x0"], ["threads=0"], ["threads=two"], ["layouts=1"],
    ["precision=fp8"], ["runtime=onnxruntime"], ["force=maybe"], ["space"],
    pytest.param(["device=cuda"], marks=pytest.mark.skipif(torch.cuda.is_available(), reason="has a GPU"))])
def test_the_command_refuses_bad_input_in_one_line(args, tmp_path):
    code, out, err = _run([*args, f"profile_dir={tmp_path / 'tables'}"])
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    assert not (tmp_path / "tables").exists()


def test_the_command_writes_and_prints_the_table(tmp_path):
    code, out, err = _run(["space=slimcae", "resolution=64x64", "threads=1", "repeats=1", "warmup=0",
                           "layouts=3", f"profile_dir={tmp_path}"])
    assert code == 0, err
    assert (tmp_path / "slimcae@64x64.cpu.t1.latency.json").is_file()
    for words in ("measured in", "full decoder", "calibration: measured =", "error on 3 held-out"):
        assert words in out, out


@pytest.mark.cuda
def test_a_table_measured_on_the_gpu(tmp_path):
    space = load_space("slimcae")
    settings = LatencySettings(device="cuda", repeats=2, warmup=1, layouts=3)
    table = load_or_measure_latency(space, (64, 64), settings, tmp_path, log=_quiet)
    assert table.machine["gpu"] and table.full_ms > 0 and table.alpha > 0
    model = LatencyModel(table, space)
    assert model.of_layout(space.full_layout()) > 0
    assert measure_decoder_ms(space, space.full_layout(), (64, 64), settings).median_ms > 0
