"""The recorded golden figures (``tests/golden.py``) are reproduced: structure reports of the four
spaces exactly; the tiny main job's layouts and GMACs exactly and its RD figures to 1e-6 relative
(or the last printed digit of a training log's 6 significant ones)."""
from __future__ import annotations

import json
import math

import pytest

from golden import GOLDEN, SPACES, main_job_figures, structure_report

#: keys whose numbers are complexities or counts: they must match exactly
EXACT = ("gmacs", "target", "range", "distance", "number", "trial", "step", "level", "trials")


def assert_matches(expected, actual, where: str = "", exact: bool = False) -> None:
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and set(actual) == set(expected), \
            f"{where}: keys {sorted(set(actual) ^ set(expected))} differ"
        for key, value in expected.items():
            assert_matches(value, actual[key], f"{where}.{key}",
                           exact or any(word in key for word in EXACT))
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{where}: length differs"
        for i, (e, a) in enumerate(zip(expected, actual)):
            assert_matches(e, a, f"{where}[{i}]", exact)
    elif isinstance(expected, float) and isinstance(actual, (int, float)):
        if math.isnan(expected):
            assert math.isnan(actual), f"{where}: {actual} is not NaN"
        elif exact:
            assert actual == expected, f"{where}: {actual!r} != {expected!r}"
        else:
            # log.csv prints 6 significant digits: a figure within 1e-6 may still flip the last one
            last_digit = 10 ** (math.floor(math.log10(abs(expected))) - 5) if expected else 0.0
            assert actual == pytest.approx(expected, rel=1e-6, abs=last_digit), where
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


@pytest.mark.parametrize("space", SPACES)
def test_structure_reports_are_reproduced(space):
    assert structure_report(space) == (GOLDEN / f"report_{space}.md").read_text()


def test_main_job_is_reproduced(golden_run):
    expected = json.loads((GOLDEN / "main_job.json").read_text())
    assert_matches(expected, main_job_figures(golden_run), "main_job")
