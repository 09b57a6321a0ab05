"""SlimCAE as a whole image codec: training forward and a short training run with the project's RD loss,
compress/decompress round trips with real bitstreams (full width and the smallest sub-CAE), and the
masked full model's forward equal to the sliced sub-CAE's. Images are 64x64 (latent 4x4)."""
from __future__ import annotations

import pytest
import torch

from search.codec import load_codec
from search.entropy import update_all
from search.nn.layers import load_sliced
from search.training.rd import rd_loss

from conftest import smooth_images

SLIMCAE = load_codec("slimcae")
SIZE = 64


def images(batch: int = 2, seed: int = 0) -> torch.Tensor:
    return smooth_images(batch, SIZE, seed)


def train(model, x, steps: int, lmbda: float = 512.0, lr: float = 1e-4) -> list[float]:
    """A few Adam steps on one batch with the project's RD loss; the losses before each step."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    losses = []
    for _ in range(steps):
        out = rd_loss(model(x), x, lmbda)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        losses.append(float(out["loss"].detach()))
    model.eval()
    return losses


def estimated_bits(out: dict) -> float:
    return float(sum(-torch.log2(v).sum() for v in out["likelihoods"]["image"].values()))


def real_bits(compressed: dict) -> int:
    return 8 * sum(len(s) for v in compressed["strings"]["image"].values() for s in v)


@pytest.fixture(scope="module")
def trained():
    """The full model after a short training run (so the latent carries bits), and its losses."""
    torch.manual_seed(0)
    model = SLIMCAE()
    losses = train(model, images(), steps=8)
    return model, losses


def test_training_loss_falls_with_the_rd_loss(trained):
    """rd_loss on the "image" part: bpp is the image rate, loss = bpp + lambda * MSE, and it falls."""
    model, losses = trained
    x = images()
    model.train()
    with torch.no_grad():
        out = rd_loss(model(x), x, 512.0)
    model.eval()
    assert set(out) >= {"loss", "bpp", "bpp_image", "mse"}
    torch.testing.assert_close(out["bpp"], out["bpp_image"])
    assert float(out["bpp"]) > 0
    torch.testing.assert_close(out["loss"], out["bpp"] + 512.0 * out["mse"])
    assert losses[-1] < 0.8 * losses[0], losses
    for name in ("analysis.conv1.weight", "synthesis.deconv3.weight",
                 "synthesis.igdn1.gdn.192.beta", "entropy_bottleneck.models.192.f1.h"):
        assert model.get_parameter(name).grad is not None, name


@pytest.mark.parametrize("width", [192, 48])
def test_round_trip(trained, width):
    """Full width and the smallest sub-CAE (sliced from the trained model): decompress == forward (eval),
    and the bitstream within 10% (or 64 bytes) of sum(-log2 likelihoods)."""
    model, _ = trained
    codec = model if width == 192 else load_sliced(SLIMCAE(SLIMCAE.uniform_layout(width)), model)
    codec.eval()
    x = images(seed=1)
    with torch.no_grad():
        out = codec(x)
    assert out["likelihoods"]["image"]["y"].shape[1] == width
    update_all(codec, force=True)
    compressed = codec.compress(x)
    assert len(compressed["strings"]["image"]["y"]) == 2
    decoded = codec.decompress(compressed)
    torch.testing.assert_close(decoded["x_hat"], out["x_hat"], atol=1e-5, rtol=0)
    est, real = estimated_bits(out), real_bits(compressed)
    assert est > 500, est  # a meaningful check: the latent carries information
    assert abs(real - est) <= max(0.1 * est, 64 * 8), (real, est)
