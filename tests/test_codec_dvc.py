"""DVC's decoder side: public keys and shapes, sliced == masked, output shapes."""
import torch

from search.codec import load_codec
from search.nn.layers import load_sliced
from search.space import load_space

from conftest import assert_same_coding, load_fixture, random_layouts, sliced_and_masked


def test_full_width_keys_and_shapes_match_public_code():
    state = load_codec("dvc")().state_dict()
    for key, shape in load_fixture("dvc_decoder_keys.yaml").items():
        assert key in state, key
        assert list(state[key].shape) == shape, key


def test_sliced_equals_masked_on_random_layouts():
    space = load_space("dvc")
    torch.manual_seed(0)
    full = space.codec().eval()
    inputs = full.decoder_inputs(64, 64, generator=torch.Generator().manual_seed(1))
    for layout in random_layouts(space, 5, seed=3):
        small = load_sliced(space.codec(layout).eval(), full)
        with torch.no_grad(), full.at_layout(layout):
            sliced, masked = small.decode(**inputs), full.decode(**inputs)
        for name in sliced:
            torch.testing.assert_close(sliced[name], masked[name], atol=1e-5, rtol=1e-5)


def test_sliced_equals_masked_whole_forward_in_eval_mode():
    """The whole codec (encoder, rounding, entropy models) at a layout: sliced == masked full model."""
    space = load_space("dvc")
    torch.manual_seed(0)
    full = space.codec().eval()
    g = torch.Generator().manual_seed(2)
    ref = torch.nn.functional.interpolate(torch.rand(1, 3, 8, 8, generator=g), size=(64, 64),
                                          mode="bilinear", align_corners=False)
    x = torch.roll(ref, 2, dims=3) + 0.02 * torch.randn(1, 3, 64, 64, generator=g)
    for layout in random_layouts(space, 3, seed=5)[1:]:
        small = load_sliced(space.codec(layout).eval(), full)
        assert_same_coding(*sliced_and_masked(small, full, layout, ref, x))


def test_decode_shapes():
    codec = load_codec("dvc")().eval()
    with torch.no_grad():
        out = codec.decode(**codec.decoder_inputs(128, 192))
    assert out["x_hat"].shape == (1, 3, 128, 192)
    assert out["mv"].shape == (1, 2, 128, 192)
    assert out["res_sigma"].shape == (1, 96, 8, 12)


def test_rows_cover_every_layer():
    codec = load_codec("dvc")()
    assert set(codec.widths.rows) == {layer.key for layer in codec.LAYERS}
