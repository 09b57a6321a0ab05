"""ELF-VC's decoder side: rows, the space, sliced == masked at random layouts, shapes, levels, and the
parameter-free pieces it adds to search.nn (scale-space warp, Delayed-Merge block, level embedding)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search.codec import load_codec  # noqa: E402
from search.files import read_yaml  # noqa: E402
from search.nn.blocks import DelayedMerge  # noqa: E402
from search.nn.layers import load_sliced, slim_modules  # noqa: E402
from search.nn.levels import LevelEmbedding, blend  # noqa: E402
from search.nn.warp import flow_warp, scale_space_volume, scale_space_warp  # noqa: E402
from search.nn.widths import Widths, Layer  # noqa: E402
from search.space import load_space  # noqa: E402


ELFVC = load_codec("elfvc")
SPACE = load_space("elfvc")
SIZE = 64


@pytest.fixture(scope="module")
def full():
    torch.manual_seed(0)
    return ELFVC().eval()


def test_rows_cover_layers(full):
    keys = [layer.key for layer in ELFVC.LAYERS]
    assert len(keys) == len(set(keys)) and set(full.widths.rows) == set(keys)
    assert {m.row for _, m in slim_modules(full)} == set(keys)
    rows = full.widths.rows
    # the paper's DM-64 flow decoder and DM-128 residue decoder, three blocks each (Sec. 3.2)
    for prefix, width in (("flow_decoder", 64), ("residue_decoder", 128)):
        blocks = [rows[f"{prefix}.block{i}"] for i in (1, 2, 3)]
        assert [(r.kind, [n.now for n in r.numbers]) for r in blocks] == [("DM", [width])] * 3
    assert [n.now for n in rows["predictor.conv_in"].numbers] == [136, 64]  # 2 frames, flow, 8 levels
    assert [n.now for n in rows["flow_decoder.conv_in"].numbers] == [72, 64]  # latent + level map
    assert [n.now for n in rows["residue_decoder.fuse"].numbers] == [160, 128]  # + 32 state channels


def test_space_lists_every_layer_once_and_keeps_the_ties():
    data = read_yaml(ROOT / "spaces" / "elfvc.yaml")
    listed = [k for module in data["modules"] for k in module["layers"]]
    assert sorted(listed) == sorted(layer.key for layer in ELFVC.LAYERS)
    assert all(not m.in_paper for m in SPACE.modules)
    for keys, _ in ELFVC.TIES:
        assert any(set(keys) <= set(g) for g in SPACE.groups), keys
    dm = [k for k, layer in SPACE.layers.items() if layer.key.split(".")[-1].startswith("block")]
    assert dm and all(not SPACE.layers[k].fixed for k in dm)
    assert [len(g) for g in SPACE.groups] == [5, 2, 2, 1, 2, 2, 2, 1, 2]


def test_decode_shapes(full):
    inputs = full.decoder_inputs(SIZE, 2 * SIZE, batch=2)
    assert inputs["q_flow"].shape == (2, 64, SIZE // 16, SIZE // 8)
    assert inputs["q_res_z"].shape == (2, 64, SIZE // 64, SIZE // 32)
    assert inputs["state_prev"].shape == (2, 32, SIZE // 4, SIZE // 2)
    with torch.no_grad():
        out = full.decode(**inputs)
    for name, channels in (("x_hat", 3), ("flow", 2), ("predicted_flow", 2), ("scale", 1), ("mask", 1),
                           ("compensated", 3)):
        assert out[name].shape == (2, channels, SIZE, 2 * SIZE), name
    assert out["state"].shape == (2, 32, SIZE // 4, SIZE // 2)
    assert out["flow_mu"].shape == out["flow_sigma"].shape == (2, 64, SIZE // 16, SIZE // 8)
    assert out["res_mu"].shape == out["res_sigma"].shape == (2, 128, SIZE // 16, SIZE // 8)
    assert ((out["mask"] > 0) & (out["mask"] < 1)).all() and (out["res_sigma"] > 0).all()


def test_level_vectors():
    assert ELFVC.level_vector(None, 2).tolist() == [[0.0] * 7 + [1.0]] * 2   # the default: L - 1
    assert ELFVC.level_vector(3, 1)[0].tolist() == [0, 0, 0, 1, 0, 0, 0, 0]
    assert ELFVC.level_vector(2.25, 1)[0].tolist() == pytest.approx([0, 0, 0.75, 0.25, 0, 0, 0, 0])
    per_frame = torch.eye(8)[:3]
    assert torch.equal(ELFVC.level_vector(per_frame, 3), per_frame)
    for bad in (8, -1, 7.5, [1.0, 0.0], torch.zeros(2, 8)):
        with pytest.raises(ValueError):
            ELFVC.level_vector(bad, 3)


def test_the_level_changes_the_decoder(full):
    inputs = full.decoder_inputs(SIZE, SIZE, generator=torch.Generator().manual_seed(0))
    other = dict(inputs, level=ELFVC.level_vector(0, 1))
    with torch.no_grad():
        a, b = full.decode(**inputs), full.decode(**other)
    for name in ("predicted_flow", "flow", "x_hat", "flow_mu", "res_sigma"):
        assert not torch.allclose(a[name], b[name]), name


# -- the parameter-free pieces ---------------------------------------------------------------------


def test_scale_space_warp():
    g = torch.Generator().manual_seed(0)
    image = torch.rand(2, 3, 32, 48, generator=g)
    flow = 3 * torch.randn(2, 2, 32, 48, generator=g)
    zero = torch.zeros(2, 1, 32, 48)
    # scale 0 is the plain bilinear warp; scale k (an integer) samples blur level k exactly
    assert torch.allclose(scale_space_warp(image, flow, zero, 5), flow_warp(image, flow), atol=1e-5)
    volume = scale_space_volume(image, 5)
    assert volume.shape == (2, 3, 6, 32, 48)
    still = torch.zeros(2, 2, 32, 48)
    assert torch.allclose(scale_space_warp(image, still, zero + 2, 5), volume[:, :, 2], atol=1e-5)
    # halfway between two levels: their mean; beyond the last level: clamped to it
    assert torch.allclose(scale_space_warp(image, still, zero + 2.5, 5),
                          (volume[:, :, 2] + volume[:, :, 3]) / 2, atol=1e-5)
    assert torch.allclose(scale_space_warp(image, still, zero + 9, 5), volume[:, :, 5], atol=1e-5)
    # a blur keeps the mean and lowers the spread
    assert volume[:, :, 3].std() < volume[:, :, 1].std() < image.std()


def test_delayed_merge_block_masks_like_it_slices():
    layers = [Layer("in", "C", 16), Layer("dm", "DM", 16)]
    torch.manual_seed(0)
    full_w = Widths(layers)
    full_block = DelayedMerge.slim(full_w, full_w["in"], full_w["dm"], row="dm")
    small_w = Widths(layers, {"in": 8, "dm": 8})
    small_block = DelayedMerge.slim(small_w, small_w["in"], small_w["dm"], row="dm")
    load_sliced(small_block, full_block)
    x = torch.randn(1, 16, 8, 8)
    x[:, 8:] = 0  # the masked input a full-width model would feed it
    full_w.mix.set({"dm": (torch.ones(1), (8,)), "in": (torch.ones(1), (8,))})
    masked = full_block(x)
    assert torch.allclose(small_block(x[:, :8]), masked[:, :8], atol=1e-5)
    assert not masked[:, 8:].any()
    assert [(k, tuple(p.shape)) for k, p in small_block.state_dict().items()][-2:] == \
        [("merge.weight", (8, 32, 1, 1)), ("merge.bias", (8,))]


def test_level_embedding_equations():
    # Appendix E: one-hot when L_e = L; linear between neighbours otherwise
    one_hot = LevelEmbedding(8, 8)
    for level in range(8):
        assert torch.equal(one_hot.vector(level), torch.eye(8)[level])
    three = LevelEmbedding(8, 3)                   # s = l * 2 / 7
    assert three.vector(0).tolist() == [1, 0, 0] and three.vector(7).tolist() == pytest.approx([0, 0, 1])
    assert three.vector(1).tolist() == pytest.approx([5 / 7, 2 / 7, 0])
    assert three.vector(5).tolist() == pytest.approx([0, 4 / 7, 3 / 7])
    assert all(three.vector(level).sum() == pytest.approx(1) for level in range(8))
    assert torch.equal(one_hot.between(2, 0.3), blend(2, 0.3, 8))
    assert three.between(3, 0.5).tolist() == pytest.approx(three.vector(3.5).tolist())
