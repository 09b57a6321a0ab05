"""The whole FVC codec: public keys, training forward, real bitstreams, a sliced layout."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search.codec import load_codec  # noqa: E402
from search.entropy import bits, update_all  # noqa: E402
from search.files import read_yaml  # noqa: E402

from conftest import assert_real_bits_near_likelihoods, shifted_frames  # noqa: E402

FVC = load_codec("fvc")
FIXTURE = ROOT / "tests" / "fixtures" / "fvc_public_keys.yaml"
SIZE = 64


def _calibrate(model):
    """Make the untrained model's rates meaningful: latents spread over several integers (the latent
    encoders' last convs x6) and Gaussian scales near 2 (bias of the sigma half of the parameter
    nets' outputs), instead of all-zero latents under scales at the 0.11 floor."""
    with torch.no_grad():
        model.aligner.deformable_convolution.conv_offset.weight.normal_(0, 0.01)
        model.aligner.deformable_convolution.conv_offset.bias.normal_(0, 0.5)
        for encoder in (model.aligner.offset_encoder, model.resEncoder):
            encoder.conv3.weight.mul_(6)
            encoder.conv3.bias.mul_(6)
        for coder in (model.EntropyCoding_offsetf, model.EntropyCoding_residualf):
            coder.parameters_net.conv3.bias[128:] += 1.5
    return model


@pytest.fixture(scope="module")
def full():
    torch.manual_seed(0)
    return _calibrate(FVC()).eval()


def _frames(batch=1, seed=1):
    return shifted_frames(batch, seed, SIZE)


def test_state_dict_equals_public_keys(full):
    expected = read_yaml(FIXTURE)
    state = full.state_dict()
    assert set(state) == set(expected), (sorted(set(expected) - set(state)),
                                         sorted(set(state) - set(expected)))
    wrong = {k: (list(v.shape), expected[k]) for k, v in state.items() if list(v.shape) != expected[k]}
    assert not wrong, wrong
    # a checkpoint with exactly the public keys loads strictly into a fresh model
    public = {k: torch.randn(shape) for k, shape in expected.items()}
    FVC().load_state_dict(public, strict=True)


def test_forward_train_likelihoods_and_gradients():
    torch.manual_seed(0)
    model = _calibrate(FVC()).train()
    ref, x = _frames()
    out = model(ref, x)
    assert out["x_hat"].shape == x.shape
    expected = {"motion": {"y": (1, 128, 4, 4), "z": (1, 128, 1, 1)},
                "residual": {"y": (1, 128, 4, 4), "z": (1, 128, 1, 1)}}
    assert {g: set(d) for g, d in out["likelihoods"].items()} == {g: set(d) for g, d in expected.items()}
    rate = 0
    for group, names in expected.items():
        for name, shape in names.items():
            p = out["likelihoods"][group][name]
            assert p.shape == shape and torch.isfinite(p).all(), (group, name)
            assert (p > 0).all() and (p <= 1).all(), (group, name)
            rate = rate + bits(p)
    loss = rate / (SIZE * SIZE) + 256 * torch.mean((out["x_hat"] - x) ** 2)
    loss.backward()
    params = dict(model.named_parameters())
    for name in ("aligner.offset_conv1.weight", "aligner.offset_encoder.conv3.weight",
                 "OffsetPriorEncoder.conv1.weight", "EntropyCoding_offsetz.f1.h",
                 "resEncoder.conv1.weight", "resPriorEncoder.conv3.weight",
                 "EntropyCoding_residualz.f4.b",
                 "Encoder.conv1.weight", "aligner.offset_decoder.deconv1.weight",
                 "aligner.deformable_convolution.weight", "resDecoder.deconv1.weight",
                 "Decoder.deconv1.weight", "OffsetPriorDecoder.deconv1.weight",
                 "EntropyCoding_residualf.parameters_net.conv1.weight"):
        grad = params[name].grad
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0, name


def test_real_bits_near_likelihoods(full):
    """(decompress equals forward: the codec contract, tests/codec_contract.py)"""
    ref, x = _frames(batch=2)
    update_all(full)  # compress would build the coder tables itself
    compressed = full.compress(ref, x)
    with torch.no_grad():
        out = full(ref, x)
    # non-trivial latents: about 1.5 bits per latent element
    assert_real_bits_near_likelihoods(out["likelihoods"], compressed["strings"], 2)


def test_presets():
    assert FVC.QUICK["crop"] % FVC.MULTIPLE == 0 and FVC.QUICK["batch"] >= 1
    assert 1e-4 <= FVC.QUICK["lr"] <= 5e-4
    assert FVC.PAPER == {"crop": 256, "batch": 4, "lr": 1e-4, "steps": 2_000_000, "lambda": 2048}
