"""The whole DCVC codec (codecs/dcvc.py): public keys, training forward, real bitstreams, layouts.

Tiny frames: 64x64 (the codec's MULTIPLE) => 4x4 latents, 1x1 hyper-latents; the autoregressive coder
runs position by position, so each round trip takes a few seconds.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from search.codec import load_codec
from search.entropy import bits, update_all


ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "dcvc_public_keys.yaml"
SIZE = 64


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny tensors: on busy cores, intra-op threads make these tests several times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def codec():
    return load_codec("dcvc")


@pytest.fixture(scope="module")
def full(codec):
    torch.manual_seed(0)
    return codec().eval()


def _frames(batch=1, seed=0):
    g = torch.Generator().manual_seed(seed)
    ref = torch.rand(batch, 3, SIZE, SIZE, generator=g)
    # a shifted, slightly noisy copy: some motion, some residual
    x = torch.roll(ref, shifts=(1, 2), dims=(2, 3)) + 0.05 * torch.randn(ref.shape, generator=g)
    return ref, x.clamp(0, 1)


def test_state_dict_equals_public_keys(full):
    expected = yaml.safe_load(FIXTURE.read_text())
    state = {k: list(v.shape) for k, v in full.state_dict().items()}
    assert set(state) == set(expected), (sorted(set(expected) - set(state)),
                                         sorted(set(state) - set(expected)))
    assert state == expected
    # hence a public checkpoint loads strictly
    full.load_state_dict({k: v.clone() for k, v in full.state_dict().items()}, strict=True)


def test_train_forward_likelihoods_and_gradients(codec):
    torch.manual_seed(1)
    model = codec().train()
    ref, x = _frames(batch=2)
    out = model(ref, x)
    assert out["x_hat"].shape == x.shape
    lik = out["likelihoods"]
    shapes = {p: {n: tuple(v.shape) for n, v in d.items()} for p, d in lik.items()}
    assert shapes == {"motion": {"mv_y": (2, 128, 4, 4), "mv_z": (2, 64, 1, 1)},
                      "residual": {"y": (2, 96, 4, 4), "z": (2, 64, 1, 1)}}
    for d in lik.values():
        for v in d.values():
            assert torch.isfinite(v).all() and (v > 0).all() and (v <= 1).all()
    rate = sum(bits(v) for d in lik.values() for v in d.values()) / (2 * SIZE * SIZE)
    loss = rate + 256 * torch.mean((out["x_hat"] - x) ** 2)
    loss.backward()
    params = dict(model.named_parameters())
    for name in ["opticFlow.moduleBasic.0.conv1.weight", "opticFlow.moduleBasic.3.conv5.weight",
                 "mvEncoder.0.weight", "mvpriorEncoder.0.weight", "contextualEncoder.0.weight",
                 "priorEncoder.4.weight", "bitEstimator_z.f1.h", "bitEstimator_z_mv.f4.b",
                 "mvDecoder_part1.0.weight", "mvDecoder_part2.0.weight", "feature_extract.0.weight",
                 "temporalPriorEncoder.6.weight", "contextualDecoder_part1.0.0.weight",
                 "contextualDecoder_part2.3.weight", "mvpriorDecoder.0.weight", "priorDecoder.4.weight",
                 "auto_regressive.weight", "auto_regressive_mv.weight", "entropy_parameters.4.weight",
                 "entropy_parameters_mv.0.weight"]:
        grad = params[name].grad
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0, name


def _round_trip(model, ref, x):
    update_all(model, force=True)
    with torch.no_grad():
        out = model(ref, x)
        compressed = model.compress(ref, x)
        decoded = model.decompress(ref, compressed)
    return out, compressed, decoded


def test_real_bits_near_likelihoods(codec):
    torch.manual_seed(2)
    model = codec().eval()
    ref, x = _frames(batch=1, seed=3)
    # At initialisation nearly every latent rounds to 0. Make the latents larger (so that every part
    # carries real information) and the entropy model roughly fitted to them (Laplace scale = their mean
    # magnitude, as a trained model would predict), so that comparing the real bitstream sizes with
    # -log2(likelihoods) means something.
    with torch.no_grad():
        for seq in (model.mvEncoder, model.contextualEncoder):
            seq[-1].weight.mul_(30.0)
        for seq in (model.mvpriorEncoder, model.priorEncoder):
            seq[-1].weight.mul_(5.0)
        mv_y = model.mvEncoder(model.opticFlow(x, ref))
        y = model._encode_y(x, model._motion_context(ref, mv_y.round())[1])
        for net, latent in ((model.entropy_parameters_mv, mv_y), (model.entropy_parameters, y)):
            half = net[-1].bias.shape[0] // 2
            net[-1].bias[half:] += latent.abs().mean()
    out, compressed, decoded = _round_trip(model, ref, x)
    assert decoded["x_hat"].shape == x.shape
    err = (decoded["x_hat"] - out["x_hat"]).abs().max().item()
    assert err <= 1e-4, err
    strings = compressed["strings"]
    assert set(strings) == {"motion", "residual"}
    for part, named in out["likelihoods"].items():
        for name, lik in named.items():
            real = compressed["bits"][part][name]
            assert real == 8 * sum(len(s) for s in strings[part][name])
            estimate = bits(lik).item()
            assert estimate > 200, (part, name, estimate)  # a meaningful amount of information
            # 10%, plus the coder's flush (4 bytes) and byte rounding per string
            assert abs(real - estimate) <= 0.10 * estimate + 64, (part, name, real, estimate)
    real = sum(b for d in compressed["bits"].values() for b in d.values())
    estimate = sum(bits(v).item() for d in out["likelihoods"].values() for v in d.values())
    assert estimate > 5000
    assert abs(real - estimate) <= 0.10 * estimate, (real, estimate)


def test_presets(codec):
    assert codec.QUICK["crop"] % codec.MULTIPLE == 0 and codec.QUICK["batch"] >= 1
    assert 1e-4 <= codec.QUICK["lr"] <= 5e-4
    assert codec.PAPER["crop"] == 256 and {"batch", "lr", "steps", "lambda"} <= set(codec.PAPER)
