"""FVC codec: public state_dict keys/shapes, sliced == masked at random layouts, output shapes, rows."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search.codec import load_codec  # noqa: E402
from search.nn.layers import slim_modules  # noqa: E402
from search.files import read_yaml  # noqa: E402


FVC = load_codec("fvc")
FIXTURE = ROOT / "tests" / "fixtures" / "fvc_decoder_keys.yaml"
SPACE = ROOT / "spaces" / "fvc.yaml"
SIZE = 64


@pytest.fixture(scope="module")
def full():
    torch.manual_seed(0)
    model = FVC().eval()
    # conv_offset is zero-initialised in the public code; random offsets exercise the DCN sampling
    with torch.no_grad():
        model.aligner.deformable_convolution.conv_offset.weight.normal_(0, 0.01)
        model.aligner.deformable_convolution.conv_offset.bias.normal_(0, 0.5)
    return model


def test_state_dict_matches_public_keys(full):
    expected = read_yaml(FIXTURE)
    state = full.state_dict()
    missing = sorted(set(expected) - set(state))
    assert not missing, missing
    wrong = {k: (list(state[k].shape), v) for k, v in expected.items() if list(state[k].shape) != v}
    assert not wrong, wrong
    # beyond the public decoder keys: only the encoder side (whole-model keys: test_whole_fvc.py)
    encoder = ("aligner.offset_conv", "aligner.offset_encoder.", "OffsetPriorEncoder.", "resEncoder.",
               "resPriorEncoder.", "EntropyCoding_offsetz.", "EntropyCoding_residualz.")
    extra = sorted(k for k in set(state) - set(expected) if not k.startswith(encoder))
    assert not extra, extra


def test_decode_shapes(full):
    inputs = full.decoder_inputs(SIZE, 2 * SIZE, batch=2)
    assert inputs["q_offset"].shape == (2, 128, SIZE // 16, SIZE // 8)
    assert inputs["q_res_z"].shape == (2, 128, SIZE // 64, SIZE // 32)
    with torch.no_grad():
        out = full.decode(**inputs)
    assert out["x_hat"].shape == (2, 3, SIZE, 2 * SIZE)
    assert out["aligned_feature"].shape == (2, 64, SIZE // 2, SIZE)
    assert out["recon_feature"].shape == (2, 64, SIZE // 2, SIZE)
    for name in ("offset_mu", "offset_sigma", "res_mu", "res_sigma"):
        assert out[name].shape == (2, 128, SIZE // 16, SIZE // 8)


def test_rows_cover_layers(full):
    keys = [layer.key for layer in FVC.LAYERS]
    assert list(full.widths.rows) and set(full.widths.rows) == set(keys)
    assert len(keys) == len(set(keys))
    tagged = {m.row for _, m in slim_modules(full)}
    assert tagged == set(keys)
    rows = full.widths.rows
    assert [n.now for n in rows["aligner.refine_conv1"].numbers] == [128, 64]
    assert [n.now for n in rows["aligner.deformable_convolution.conv_offset"].numbers] == [64, 144]
    assert [n.now for n in rows["Decoder.recon_trunk"].numbers] == [64, 64]
    assert [n.now for n in rows["aligner.offset_decoder.res1"].numbers] == [128, 128]
    assert rows["Decoder.deconv1"].kind == "D"


def test_space_lists_every_layer_once():
    space = read_yaml(SPACE)
    listed = [k for module in space["modules"] for k in module["layers"]]
    assert listed == [layer.key for layer in FVC.LAYERS]
    fixed = {layer.key for layer in FVC.LAYERS if layer.fixed}
    for module in space["modules"]:
        for k, v in module["layers"].items():
            if k in fixed:
                assert v == "fixed", k
    for keys, _ in FVC.TIES:
        assert any(set(keys) <= set(t) for t in space["ties"]), keys
