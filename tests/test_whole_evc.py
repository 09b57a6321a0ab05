"""EVC as a whole image codec: a short training run with the project's RD loss, compress/decompress round
trips with real bitstreams (the full decoder and the paper's Small one, sliced), and the rate knob
(q_scale: one model for every rate). Images are 64x64 (one MULTIPLE: y at 4x4, z at 1x1)."""
from __future__ import annotations

import pytest
import torch

from search.codec import load_codec
from search.entropy import update_all
from search.nn.layers import load_sliced
from search.training.rd import rd_loss

from conftest import smooth_images

EVC = load_codec("evc")
SIZE = 64


def images(batch: int = 1, seed: int = 0) -> torch.Tensor:
    return smooth_images(batch, SIZE, seed)


def estimated_bits(out: dict) -> dict[str, float]:
    return {k: float(-torch.log2(v).sum()) for k, v in out["likelihoods"]["image"].items()}


def real_bits(compressed: dict) -> dict[str, int]:
    strings = compressed["strings"]["image"]
    bits = {k: 8 * sum(len(s) for s in v) for k, v in strings.items()}
    return {"y": bits["y0"] + bits["y1"], "z": bits["z"]}


@pytest.fixture(scope="module")
def trained():
    """The full model after six Adam steps (lr 2e-4, the paper's) on one image at the largest anchor's
    lambda, so that the latents carry bits; and the losses."""
    torch.manual_seed(0)
    model, x = EVC(), images()
    opt = torch.optim.Adam(model.parameters(), lr=2e-4)
    model.train()
    losses = []
    for _ in range(6):
        out = rd_loss(model(x, 3), x, EVC.LAMBDAS[3])
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        losses.append(float(out["loss"].detach()))
    model.eval()
    return model, losses


def test_training_loss_falls(trained):
    model, losses = trained
    assert losses[-1] < 0.8 * losses[0], losses
    for name in ("enc.0.conv1.weight", "dec.7.0.weight", "hyper_dec.0.block.2.weight",
                 "y_spatial_prior.2.block.1.conv.2.weight", "bit_estimator_z.f1.h", "q_basic"):
        grad = model.get_parameter(name).grad
        assert grad is not None and torch.isfinite(grad).all(), name
    assert model.q_scale.grad[3].abs().sum() > 0 and model.q_scale.grad[:3].abs().sum() == 0


@pytest.mark.parametrize("name", ["L", "S"])
def test_round_trip(trained, name):
    """decompress == forward (eval), and per latent the bitstream within 10% (or 64 bytes) of
    sum(-log2 likelihoods); the two checkerboard passes code every symbol of y once."""
    model, _ = trained
    codec = model if name == "L" else load_sliced(EVC(EVC.model_layout(name)), model).eval()
    x = images(batch=2, seed=1)
    with torch.no_grad():
        out = codec(x, 3)
    update_all(codec, force=True)
    compressed = codec.compress(x, 3)
    assert set(compressed["strings"]["image"]) == {"z", "y0", "y1"}
    decoded = codec.decompress(compressed)
    torch.testing.assert_close(decoded["x_hat"], out["x_hat"], atol=1e-5, rtol=0)
    est, real = estimated_bits(out), real_bits(compressed)
    assert est["y"] > 1000, est  # a meaningful check: y really carries information
    for k in ("y", "z"):
        assert abs(real[k] - est[k]) <= max(0.1 * est[k], 64 * 8), (k, real[k], est[k])


def test_rate_knob(trained):
    """One model, every rate: a finer global quantisation step spends more bits for less distortion."""
    model, _ = trained
    x = images(seed=2)
    with torch.no_grad():
        fine, coarse = model(x, 0.5), model(x, 2.0)
    assert sum(estimated_bits(fine).values()) > sum(estimated_bits(coarse).values())
    assert torch.mean((fine["x_hat"] - x) ** 2) < torch.mean((coarse["x_hat"] - x) ** 2)
    update_all(model, force=True)
    assert model.decompress(model.compress(x, 0.5))["x_hat"].equal(fine["x_hat"])
