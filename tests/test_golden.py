"""The recorded golden figures (``tests/golden.py``) are reproduced: the structure reports of the four
spaces exactly; the tiny main job's layouts, GMACs, counts, step numbers and levels exactly, and its
trained figures within the tolerances of ``fixtures/golden/tolerances.json``: the spread measured across
the kernel choices a processor makes (ATen, oneDNN, MKL below the recording machine's own), times a
safety factor, with a floor (how and when it was measured is in the file).

The rule: a re-recording (``python tests/golden.py``) states every figure that moved beyond its
tolerance; the recorder prints them, and the commit that re-records lists them and says why.
"""
from __future__ import annotations

import json

import pytest

from golden import (FLOOR_REL, GOLDEN, SAFETY, SPACES, Mismatch, flatten, is_measured, main_job_figures,
                    mismatches, read_tolerances, structure_report, tolerances, variants)


@pytest.mark.parametrize("space", SPACES)
def test_structure_reports_are_reproduced(space):
    assert structure_report(space) == (GOLDEN / f"report_{space}.md").read_text()


def test_main_job_is_reproduced(golden_run):
    expected = flatten(json.loads((GOLDEN / "main_job.json").read_text()))
    found = mismatches(expected, flatten(main_job_figures(golden_run)), read_tolerances())
    assert not found, "not reproduced:\n" + "\n".join(map(str, found))


def test_every_trained_figure_has_a_measured_tolerance():
    expected = flatten(json.loads((GOLDEN / "main_job.json").read_text()))
    measured = json.loads((GOLDEN / "tolerances.json").read_text())
    missing = [p for p, v in expected.items() if is_measured(p, v) and p not in measured["figures"]]
    assert not missing, f"re-measure (python tests/golden.py): no tolerance for {missing[:5]}"
    assert {"cpu", "torch", "date", "variants", "safety", "floor_rel"} <= set(measured["measured"])


def test_exact_figures_are_exact_and_measured_ones_have_their_tolerance():
    expected = {"a.gmacs": 399.57, "a.steps[0].level": 2, "a.bpp": 4.0, "a.margin_vs_level": 0.5,
                "a.layout": {"x": 64}}
    tolerances = {"a.bpp": 1e-3, "a.margin_vs_level": 1e-3}
    assert not mismatches(expected, dict(expected, **{"a.bpp": 4.0009, "a.margin_vs_level": 0.5009}),
                          tolerances)
    for path, moved in [("a.gmacs", 399.57 + 1e-9), ("a.steps[0].level", 1), ("a.bpp", 4.0011),
                        ("a.layout", {"x": 32})]:
        found = mismatches(expected, dict(expected, **{path: moved}), tolerances)
        assert [m.path for m in found] == [path]
    assert mismatches(expected, {**expected, "a.new": 1.0}, tolerances) == [
        Mismatch("a.new", "<absent>", 1.0)]
    assert [m.path for m in mismatches({"a.psnr": 1.0}, {"a.psnr": 1.0}, {})] == ["a.psnr"]  # unmeasured


def test_tolerances_come_from_the_measured_spread():
    fixture = {"m.trials[0].bpp": 1.0, "m.trials[1].bpp": 2.0, "m.gmacs": 400.0,
               "m.stage1_log[0].loss": 100.0, "m.psnr": 30.0}
    runs = {"a": {**fixture, "m.trials[0].bpp": 1.001},
            "b": {**fixture, "m.trials[0].bpp": 0.9995, "m.psnr": 30.0000001}}
    table = tolerances(fixture, runs)
    assert set(table) == {"m.trials[0].bpp", "m.trials[1].bpp", "m.stage1_log[0].loss", "m.psnr"}
    assert table["m.trials[0].bpp"]["spread"] == pytest.approx(0.001)
    assert table["m.trials[0].bpp"]["tolerance"] == pytest.approx(SAFETY * 0.001)
    assert table["m.trials[1].bpp"]["tolerance"] == pytest.approx(SAFETY * 0.002)  # its family's room
    assert table["m.stage1_log[0].loss"]["tolerance"] == pytest.approx(1e-3)  # the last printed digit
    assert table["m.psnr"]["tolerance"] == pytest.approx(FLOOR_REL * 30.0)  # the floor
    with pytest.raises(SystemExit, match="under b exact figures differ"):
        tolerances(fixture, {**runs, "b": {**fixture, "m.gmacs": 399.0}})


def test_variants_lie_below_the_processor():
    assert list(variants("AVX512")) == ["aten=avx2", "aten=default", "onednn=AVX2", "mkl=AVX2",
                                        "all lowest"]
    assert list(variants("AVX2")) == ["aten=default", "onednn=SSE41", "mkl=SSE4_2", "all lowest"]
    assert list(variants("DEFAULT")) == ["all lowest"]
