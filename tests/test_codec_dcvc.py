"""DCVC codec (codecs/dcvc.py): public keys and shapes, sliced == masked, output shapes, report rows."""
from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch
import yaml

from search.codec import load_codec

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "dcvc_decoder_keys.yaml"
SPACE = ROOT / "spaces" / "dcvc.yaml"
SIZE = 64  # the codec's MULTIPLE: latents 4x4, hyper latents 1x1


@pytest.fixture(scope="module")
def codec():
    return load_codec("dcvc")


@pytest.fixture(scope="module")
def full(codec):
    torch.manual_seed(0)
    return codec().eval()


def _inputs(model, size=SIZE):
    return model.decoder_inputs(size, size, generator=torch.Generator().manual_seed(1))


def test_public_keys_and_shapes(full):
    expected = yaml.safe_load(FIXTURE.read_text())
    state = full.state_dict()
    missing = sorted(set(expected) - set(state))
    assert not missing, f"keys of the public code missing: {missing}"
    for key, shape in expected.items():
        assert list(state[key].shape) == shape, key
    # nothing beyond the public keys: the other keys are the public encoder side and entropy models
    # (the whole model's keys equal the public model's: tests/test_whole_dcvc.py)
    public = yaml.safe_load((FIXTURE.parent / "dcvc_public_keys.yaml").read_text())
    assert sorted(set(state) - set(expected) - set(public)) == []
    encoder_side = ("opticFlow.", "mvEncoder.", "mvpriorEncoder.", "contextualEncoder.",
                    "priorEncoder.", "bitEstimator_z.", "bitEstimator_z_mv.")
    assert all(k.startswith(encoder_side) for k in set(state) - set(expected))


def _random_layout(codec, rng):
    return {layer.key: layer.full if layer.fixed else rng.choice(
        [layer.full, max(1, layer.full // 2), max(1, layer.full // 4)]) for layer in codec.LAYERS}


def test_output_shapes(full):
    with torch.no_grad():
        out = full.decode(**_inputs(full))
    s, l = SIZE, SIZE // 16
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "x_hat": (1, 3, s, s), "mv": (1, 2, s, s),
        "temporal_prior": (1, 96, l, l), "mv_means": (1, 128, l, l), "mv_scales": (1, 128, l, l),
        "y_means": (1, 96, l, l), "y_scales": (1, 96, l, l)}
    assert 0 <= out["x_hat"].min() and out["x_hat"].max() <= 1


def test_rows_cover_layers(codec, full):
    keys = [layer.key for layer in codec.LAYERS]
    assert len(keys) == len(set(keys))
    assert set(full.widths.rows) == set(keys)
    small = codec(_random_layout(codec, random.Random(7)))
    assert set(small.widths.rows) == set(keys)
    # a few rows' numbers at full width (Table S3 notation)
    nums = {k: [n.now for n in r.numbers] for k, r in full.widths.rows.items()}
    assert nums["mvDecoder_part2.0"] == [5, 64]
    assert nums["contextualDecoder_part1.0"] == [96, 64]
    assert nums["contextualDecoder_part2.0"] == [128, 64]
    assert nums["contextualDecoder_part2.3"] == [64, 3]
    assert nums["entropy_parameters.0"] == [384, 320]
    assert nums["entropy_parameters_mv.0"] == [512, 426]
    assert nums["feature_extract.1"] == [64, 64]


def test_space_lists_every_layer_once(codec):
    space = yaml.safe_load(SPACE.read_text())
    listed = [k for m in space["modules"] for k in m["layers"]]
    assert listed == [layer.key for layer in codec.LAYERS]
    values = {k: v for m in space["modules"] for k, v in m["layers"].items()}
    for layer in codec.LAYERS:
        if layer.fixed:
            assert values[layer.key] == "fixed", layer.key
    assert not codec.TIES and space["ties"] == []
