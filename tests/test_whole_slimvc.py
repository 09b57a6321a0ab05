"""SlimVC as a whole codec: state_dict keys, forward in training, compress/decompress round
trip with real bitstreams, and the smallest layout of the space.

SlimVC has no public code, so the key fixture (tests/fixtures/slimvc_public_keys.yaml) was written from
our own full-width model; it guards the parameter names and shapes against accidental change.
Frames are 96x96 (2 x MULTIPLE: y at 8x8, z at 2x2).
"""
from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search.codec import load_codec  # noqa: E402
from search.entropy import update_all  # noqa: E402
from search.nn.layers import load_sliced  # noqa: E402

from conftest import load_fixture  # noqa: E402

SLIMVC = load_codec("slimvc")
SIZE = 96
SMALLEST = SLIMVC.uniform_layout(min(SLIMVC.FACTORS))


def frames(batch: int = 1, seed: int = 0, size: int = SIZE) -> tuple[torch.Tensor, torch.Tensor]:
    """A smooth random-ish reference and a shifted, slightly noisy current frame in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    base = torch.nn.functional.interpolate(torch.rand(batch, 3, size // 8, size // 8, generator=g),
                                           size=size, mode="bilinear", align_corners=False)
    ref = (base + 0.05 * torch.rand(batch, 3, size, size, generator=g)).clamp(0, 1)
    x = (base.roll(3, -1) + 0.05 * torch.rand(batch, 3, size, size, generator=g)).clamp(0, 1)
    return ref, x


def rate_bits(likelihoods: dict) -> dict[str, float]:
    return {k: float(-torch.log2(v).sum()) for k, v in likelihoods["residual"].items()}


def stream_bits(compressed: dict) -> dict[str, int]:
    return {k: 8 * sum(len(s) for s in v) for k, v in compressed["strings"]["residual"].items()}


@pytest.fixture(scope="module")
def full():
    torch.manual_seed(0)
    return SLIMVC()


@pytest.fixture(scope="module")
def boosted(full):
    """``full`` with larger latents: as initialised, SlimFE's last GDN keeps |y| < 0.5, so the
    reference's rounded latent (the temporal prior's input) would be all zeros. Its GDN sets are made
    (nearly) the identity and conv3 scaled up, so y_{t-1} and y really carry values."""
    model = copy.deepcopy(full).eval()
    with torch.no_grad():
        for gdn in model.SlimFE.gdn3.gdn.values():
            gdn.gamma.zero_()
        model.SlimFE.conv3.weight.mul_(20)
    return model


def test_state_dict_keys_equal_fixture(full):
    expected = load_fixture("slimvc_public_keys.yaml")
    got = {k: list(v.shape) for k, v in full.state_dict().items()}
    assert set(got) == set(expected)
    assert got == expected
    # the coder tables are not state: a state_dict (before or after update_all) loads strictly
    full.load_state_dict(full.state_dict(), strict=True)


def test_forward_train_likelihoods_and_gradients(full):
    full.train()
    size = 48  # the full model's backward is the slowest part of this file: one MULTIPLE suffices
    ref, x = frames(size=size)
    out = full(ref, x)
    assert out["x_hat"].shape == x.shape
    assert set(out["likelihoods"]) == {"motion", "residual"}
    assert out["likelihoods"]["motion"] == {}
    lik = out["likelihoods"]["residual"]
    assert tuple(lik["y"].shape) == (1, 192, size // 12, size // 12)
    assert tuple(lik["z"].shape) == (1, 256, size // 48, size // 48)
    for v in lik.values():
        assert torch.isfinite(v).all() and (v > 0).all() and (v <= 1).all()
    rate = sum(-torch.log2(v).sum() for v in lik.values()) / x[0, 0].numel()
    loss = rate + 256 * torch.mean((out["x_hat"] - x) ** 2)
    full.zero_grad()
    loss.backward()
    # (not SlimTPM.conv1.weight: as initialised, the reference's rounded latent is all zeros, so that
    # weight gets no gradient until SlimFE's outputs grow; its bias does)
    for name in ("SlimFE.conv1.weight", "SlimHE.conv1.weight", "SlimFD.deconv3.weight",
                 "SlimHD.deconv1.weight", "SlimTPM.conv1.bias", "SlimTPM.conv3.weight",
                 "SlimEPM.conv3.weight", "bitEstimator_z.f1.h"):
        grad = full.get_parameter(name).grad
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0, name
    # the reference's latent is rounded without gradient (SlimFE's gradient comes from x alone)
    assert full.reference_latent(ref).requires_grad is False
    full.zero_grad()
    full.eval()


def test_real_bits_near_likelihoods(full):
    """Full width, as initialised: real bits near the estimate (decompress equals forward: the codec
    contract, tests/codec_contract.py)."""
    full.eval()
    ref, x = frames(batch=2, seed=1)
    with torch.no_grad():
        out = full(ref, x)
    update_all(full, force=True)
    compressed = full.compress(ref, x)
    assert compressed["strings"]["motion"] == {}
    assert all(len(v) == 2 for v in compressed["strings"]["residual"].values())
    est, real = sum(rate_bits(out["likelihoods"]).values()), sum(stream_bits(compressed).values())
    assert abs(real - est) <= max(0.1 * est, 64 * 8), (real, est)


def test_smallest_layout_trains_and_round_trips(full):
    """The smallest layout (every factor 0.25; y 48 ch, z 256 ch: the hyper latent stays at full width,
    codecs/slimvc.py), sliced from the full model, after a
    few Adam steps so that both y and z carry bits: decompress == forward, and per latent the bitstream
    is within 10% (or 64 bytes) of sum(-log2 likelihoods)."""
    torch.manual_seed(0)
    small = load_sliced(SLIMVC(SMALLEST), full)
    assert small.bitEstimator_z.channels == SMALLEST["SlimHE.conv3"] == 256
    torch.testing.assert_close(small.bitEstimator_z.f1.h, full.bitEstimator_z.f1.h)
    ref, x = frames(seed=2)
    opt = torch.optim.Adam(small.parameters(), lr=1e-3)
    small.train()
    for _ in range(5):
        out = small(ref, x)
        rate = sum(-torch.log2(v).sum() for v in out["likelihoods"]["residual"].values()) / x[:, 0].numel()
        loss = rate + 1024 * torch.mean((out["x_hat"] - x) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
    small.eval()
    with torch.no_grad():
        out = small(ref, x)
    lik = out["likelihoods"]["residual"]
    assert tuple(lik["y"].shape) == (1, 48, 8, 8) and tuple(lik["z"].shape) == (1, 256, 2, 2)
    update_all(small, force=True)
    compressed = small.compress(ref, x)
    decoded = small.decompress(ref, compressed)
    torch.testing.assert_close(decoded["x_hat"], out["x_hat"], atol=1e-5, rtol=0)
    est, real = rate_bits(out["likelihoods"]), stream_bits(compressed)
    assert est["y"] > 1000, est  # a meaningful check: y really carries information
    for k in ("y", "z"):
        assert abs(real[k] - est[k]) <= max(0.1 * est[k], 64 * 8), (k, real[k], est[k])


def test_presets():
    assert SLIMVC.QUICK["crop"] % SLIMVC.MULTIPLE == 0 and SLIMVC.QUICK["batch"] >= 1
    assert 1e-4 <= SLIMVC.QUICK["lr"] <= 5e-4
    assert SLIMVC.PAPER["crop"] == 240
    assert {"batch", "lr", "steps", "lambda"} <= set(SLIMVC.PAPER)
