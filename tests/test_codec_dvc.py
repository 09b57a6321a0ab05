"""DVC's decoder side: public keys and shapes, sliced == masked, output shapes."""
import torch

from search.codec import load_codec

from conftest import load_fixture


def test_full_width_keys_and_shapes_match_public_code():
    state = load_codec("dvc")().state_dict()
    for key, shape in load_fixture("dvc_decoder_keys.yaml").items():
        assert key in state, key
        assert list(state[key].shape) == shape, key


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
