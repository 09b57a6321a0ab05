"""Every check of the codec contract (tests/codec_contract.py) on every registered codec, the tiny
test codec of tests/codecs included; and the contract's own parts (typed presets, input checks on the
base class, provenance)."""
from __future__ import annotations

import itertools

import pytest

from search.codec import Codec, Preset, Provenance
from search.errors import BadInput

from codec_contract import CHECKS, CODEC_DIRS, subjects

CASES = list(itertools.product(subjects(), CHECKS))


@pytest.mark.parametrize("subject,check", CASES, ids=[f"{s}-{c}" for s, c in CASES])
def test_contract(subject, check):
    CHECKS[check](subject)


def test_the_tiny_codec_gets_every_check_for_nothing():
    """tests/codecs/tiny.py has no test of its own: being in a codec folder is enough."""
    tiny = [s for s in subjects() if s.name == "tiny"]
    assert len(tiny) == 1 and tiny[0].codec_dir == CODEC_DIRS[1]
    assert {c for s, c in CASES if s.name == "tiny"} == set(CHECKS)
    assert len(CHECKS) >= 7
    assert not list(CODEC_DIRS[1].parent.glob("test_*tiny*.py"))


def test_a_misspelt_preset_key_is_an_error_naming_it():
    with pytest.raises(BadInput, match="'crp'"):
        class Misspelt(Codec):  # noqa: F841
            QUICK = {"crp": 64}
    with pytest.raises(BadInput, match="'batch'"):
        Preset(batch=2.5)
    preset = Preset.of({"crop": 64, "lambda": 256.0})
    assert preset.lmbda == 256.0 and dict(preset) == {"crop": 64, "lambda": 256.0}
    assert {**{"crop": 32, "lr": 1e-3}, **preset} == {"crop": 64, "lr": 1e-3, "lambda": 256.0}


def test_provenance_line():
    line = Provenance("A, B", "https://example.org/code", "abc1234").line()
    assert line == "A, B; https://example.org/code @ abc1234"
    assert Provenance("A").line() == "A; no public code"
