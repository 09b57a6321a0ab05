"""The whole ELF-VC codec: training forward, real bitstreams (decoded == forward, bits near the
likelihoods), levels and the context of the next frame, a sliced layout, and a few training steps."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search.codec import load_codec  # noqa: E402
from search.entropy import update_all  # noqa: E402
from search.training.rd import rd_loss  # noqa: E402

from conftest import assert_real_bits_near_likelihoods, shifted_frames

ELFVC = load_codec("elfvc")
SIZE = 64


def _calibrate(model):
    """Make the untrained model's rates meaningful: latents spread over several integers (the
    encoders' last convs scaled up) and Gaussian scales near 1.7 and 2.7, instead of all-zero latents."""
    with torch.no_grad():
        for encoder in (model.flow_encoder, model.residue_encoder):
            encoder.conv_out.weight.mul_(30)
            encoder.conv_out.bias.mul_(30)
        for encoder in (model.flow_hyper_encoder, model.residue_hyper_encoder):
            encoder.conv2.weight.mul_(8)
            encoder.conv2.bias.mul_(8)
        for prior in (model.flow_hyper_prior, model.residue_hyper_prior):
            prior.log_scale.fill_(1.0)
        for decoder in (model.flow_hyper_decoder, model.residue_hyper_decoder):
            decoder.conv3.bias[decoder.latent:] += 1.5
    return model


@pytest.fixture(scope="module")
def full():
    torch.manual_seed(0)
    return _calibrate(ELFVC()).eval()


def _frames(batch=1, seed=1):
    return shifted_frames(batch, seed, SIZE)


def test_forward_train_likelihoods_and_gradients():
    """Two frames of a sequence, the second with the first's context (not detached): every part
    trains, the residue decoder's state head included (a single frame gives it no gradient: its
    state is the next frame's)."""
    torch.manual_seed(0)
    model = _calibrate(ELFVC()).train()
    ref, x = _frames()
    first = model(ref, x)
    out = model(first["x_hat"], x.roll(1, 2), context=first["context"])
    assert out["x_hat"].shape == x.shape and out["flow"].shape == (1, 2, SIZE, SIZE)
    expected = {"motion": {"y": (1, 64, 4, 4), "z": (1, 32, 1, 1)},
                "residual": {"y": (1, 128, 4, 4), "z": (1, 64, 1, 1)}}
    assert {g: {n: tuple(p.shape) for n, p in d.items()} for g, d in out["likelihoods"].items()} == expected
    for named in out["likelihoods"].values():
        for p in named.values():
            assert torch.isfinite(p).all() and (p > 0).all() and (p <= 1).all()
    (rd_loss(first, x, 256)["loss"] + rd_loss(out, x.roll(1, 2), 256)["loss"]).backward()
    params = dict(model.named_parameters())
    for name in ("flow_encoder.conv_in.weight", "flow_encoder.block2.convs.1.weight",
                 "flow_hyper_encoder.conv1.weight", "flow_hyper_prior.log_scale",
                 "flow_hyper_decoder.deconv1.weight", "predictor.conv_in.weight",
                 "predictor.block1.coarse.merge.weight", "predictor.head.0.weight",
                 "flow_decoder.block3.convs.2.weight", "flow_decoder.head.0.weight",
                 "residue_encoder.conv_out.weight", "residue_hyper_prior.log_scale",
                 "residue_decoder.up1.0.weight", "residue_decoder.state.weight",
                 "residue_hyper_decoder.conv3.weight"):
        grad = params[name].grad
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0, name


def test_decompress_context_and_real_bits(full):
    """The decoder's context equals the encoder's, and real bits are near the likelihoods."""
    ref, x = _frames(batch=2)
    update_all(full)
    compressed = full.compress(ref, x)
    decoded = full.decompress(ref, compressed)
    with torch.no_grad():
        out = full(ref, x)
    assert torch.equal(decoded["x_hat"], out["x_hat"])
    for key in ("previous", "flow", "state"):
        assert torch.equal(decoded["context"][key], out["context"][key]), key
    assert_real_bits_near_likelihoods(out["likelihoods"], compressed["strings"], 2)


def test_second_frame_with_context_and_a_level(full):
    """Frame 2 of a sequence at level 2: the context of frame 1 (its flow, state and x_{t-2}) feeds the
    predictor and the state on both sides; the level comes with the compressed frame."""
    ref, x1 = _frames(seed=4)
    x2 = x1.roll(2, 3)
    first = full.decompress(ref, full.compress(ref, x1, level=2))
    compressed = full.compress(first["x_hat"], x2, level=2, context=first["context"])
    decoded = full.decompress(first["x_hat"], compressed, context=first["context"])
    with torch.no_grad():
        out = full(first["x_hat"], x2, level=2, context=first["context"])
        fresh = full(first["x_hat"], x2, level=2)
        other_level = full(first["x_hat"], x2, level=5, context=first["context"])
    assert torch.equal(decoded["x_hat"], out["x_hat"])
    assert compressed["level"].tolist() == [[0, 0, 1, 0, 0, 0, 0, 0]]
    assert not torch.allclose(out["predicted_flow"], fresh["predicted_flow"])  # the context matters
    assert not torch.allclose(out["x_hat"], other_level["x_hat"])              # so does the level


def test_a_few_training_steps_lower_the_loss():
    torch.manual_seed(0)
    model = ELFVC().train()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-4)
    ref, x = _frames(seed=5)
    losses = []
    for _ in range(6):
        loss = rd_loss(model(ref, x), x, 256)["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert all(torch.isfinite(torch.tensor(losses)))
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3, losses


def test_presets():
    assert ELFVC.QUICK["crop"] % ELFVC.MULTIPLE == 0 and ELFVC.QUICK["batch"] >= 1
    assert ELFVC.PAPER["batch"] == 8 and ELFVC.PAPER["lr"] == 7e-5 and ELFVC.PAPER["steps"] == 800_000
