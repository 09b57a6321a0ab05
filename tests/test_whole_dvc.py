"""DVC as a whole codec: public keys, training forward, real bitstreams, a slimmed layout."""
import pytest
import torch
import torch.nn.functional as F

from search.codec import load_codec
from search.entropy import bits, update_all

from conftest import load_fixture

SIZE = 64


def frames(seed: int = 0, size: int = SIZE, batch: int = 1):
    """A smooth random reference and the frame to code: the reference moved by (2, 1) pixels, plus noise."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(batch, 3, size // 8, size // 8, generator=g)
    ref = F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)
    ref = (ref + 0.02 * torch.randn(ref.shape, generator=g)).clamp(0, 1)
    x = torch.roll(ref, shifts=(1, 2), dims=(2, 3))
    x = (x + 0.02 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    return ref, x


@pytest.fixture(scope="module")
def codec():
    torch.manual_seed(0)
    return load_codec("dvc")()


def rate(out) -> torch.Tensor:
    return sum(bits(lik) for part in out["likelihoods"].values() for lik in part.values())


def total_bits(out) -> float:
    return float(rate(out))


def stream_bits(compressed) -> int:
    return sum(8 * len(s) for part in compressed["strings"].values() for strings in part.values()
               for s in strings)


def test_state_dict_equals_public_keys_and_shapes(codec):
    public = load_fixture("dvc_public_keys.yaml")
    state = codec.state_dict()
    assert set(state) == set(public)
    for key, shape in public.items():
        assert list(state[key].shape) == shape, key
    # a public checkpoint (same keys and shapes) loads strictly into the whole model
    checkpoint = {k: torch.zeros(shape) for k, shape in public.items()}
    load_codec("dvc")().load_state_dict(checkpoint, strict=True)


def test_train_forward_likelihoods_and_gradients(codec):
    codec.train()
    ref, x = frames(1)
    out = codec(ref, x)
    assert out["x_hat"].shape == x.shape
    shapes = {("motion", "mv"): (1, 128, 4, 4), ("residual", "y"): (1, 96, 4, 4),
              ("residual", "z"): (1, 64, 1, 1)}
    assert {(p, n) for p, d in out["likelihoods"].items() for n in d} == set(shapes)
    for (part, name), shape in shapes.items():
        lik = out["likelihoods"][part][name]
        assert lik.shape == shape
        assert torch.isfinite(lik).all() and (lik > 0).all() and (lik <= 1).all(), (part, name)
    loss = rate(out) / (SIZE * SIZE) + 256 * F.mse_loss(out["x_hat"], x)
    codec.zero_grad()
    loss.backward()
    params = dict(codec.named_parameters())
    # (mvEncoder.conv1.weight has no gradient at first: the untrained SpyNet's flow starts at zero)
    for key in ["opticFlow.moduleBasic.3.conv5.weight", "opticFlow.moduleBasic.0.conv5.bias",
                "mvEncoder.conv1.bias", "mvEncoder.conv8.weight", "resEncoder.conv1.weight",
                "resEncoder.gdn1.gamma", "respriorEncoder.conv1.weight", "bitEstimator_mv.f1.h",
                "bitEstimator_z.f4.b", "mvDecoder.deconv1.weight", "warpnet.conv3.conv1.weight",
                "resDecoder.deconv1.weight", "respriorDecoder.deconv3.weight"]:
        grad = params[key].grad
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0, key
    codec.zero_grad(set_to_none=True)


def round_trip(model, ref, x):
    """compress -> decompress equals forward in eval mode; returns (forward's output, bitstreams)."""
    model.eval()
    update_all(model, force=True)
    with torch.no_grad():
        out = model(ref, x)
    compressed = model.compress(ref, x)
    decoded = model.decompress(ref, compressed)
    torch.testing.assert_close(decoded["x_hat"], out["x_hat"], atol=1e-5, rtol=0)
    return out, compressed


def test_rate_matches_bitstream(codec):
    ref, x = frames(2)
    # Fit the factorized priors to this frame's latents for a few Adam steps (cheap: the latents are
    # fixed), so that the coder tables are built from trained CDFs, not the initial ones.
    codec.eval()
    with torch.no_grad():
        mv = torch.round(codec.mvEncoder(codec.opticFlow(x, ref)))
        prediction = codec.decode_motion(ref, mv)["prediction"]
        z = torch.round(codec.respriorEncoder(codec.resEncoder(x - prediction)))
    priors = list(codec.bitEstimator_mv.parameters()) + list(codec.bitEstimator_z.parameters())
    optimizer = torch.optim.Adam(priors, lr=1e-2)
    for _ in range(20):
        loss = bits(codec.bitEstimator_mv.likelihood(mv)) + bits(codec.bitEstimator_z.likelihood(z))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    out, compressed = round_trip(codec, ref, x)
    estimated, real = total_bits(out), stream_bits(compressed)
    assert abs(real - estimated) <= max(0.1 * estimated, 64 * 8), (real, estimated)
    for part, named in out["likelihoods"].items():  # and each latent on its own
        for name, lik in named.items():
            est = float(bits(lik))
            got = 8 * sum(len(s) for s in compressed["strings"][part][name])
            assert abs(got - est) <= max(0.1 * est, 64 * 8), (part, name, got, est)
    # the decoded frame is the codec's reconstruction, finite and of the right size
    assert out["x_hat"].shape == x.shape and torch.isfinite(out["x_hat"]).all()
