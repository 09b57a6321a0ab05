"""SlimVC codec: Table 1 widths / kernels / parameter counts, sliced == masked at random layouts (encoder,
decoder and the whole codec's forward in eval mode), output shapes, rows, the space, and closed-form GMACs == fvcore.

SlimVC has no public code or checkpoint, so instead of a state_dict key fixture the reference is Table 1
of the paper (``tests/fixtures/slimvc_table1.yaml``).
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search.codec import load_codec  # noqa: E402
from search.nn.layers import SlimConv2d, SlimConvTranspose2d, SwitchableGDN  # noqa: E402
from search.space import load_space, parse_space  # noqa: E402
from search.files import read_yaml  # noqa: E402

SLIMVC = load_codec("slimvc")
TABLE = read_yaml(ROOT / "tests" / "fixtures" / "slimvc_table1.yaml")
SPACE_FILE = ROOT / "spaces" / "slimvc.yaml"
MODULES = ("SlimFE", "SlimFD", "SlimHE", "SlimHD", "SlimTPM", "SlimEPM")

# Table 1's params_m where ours differ after rounding to 0.1 M. With the structure the paper describes
# (codecs/slimvc.py: the entropy modules slim their hidden layers, their inputs and outputs stay at full
# width; the autoencoder slims its latent) every other figure of Table 1 is reproduced:
# * SlimTPM at full width: 16.251 M with biases (16.3); without them 16.249 M, the printed 16.2.
# * SlimEPM at 0.75: 3.059 M (3.1); Table 1 prints 3.0. (Slimming its 384-channel output too would give
#   2.96 M at 0.75 but 0.67 M at 0.25, printed 0.8.)
# Slimming every channel instead (an earlier reading) missed SlimHE, SlimHD, SlimTPM and SlimEPM at every
# factor below 1 (e.g. SlimTPM 1.0 M at 0.25, printed 3.0).
OUR_PARAMS_M = {
    "SlimTPM": [3.0, 4.8, 6.7, 11.1, 16.3],
    "SlimEPM": [0.8, 1.2, 1.8, 3.1, 4.6],
}

#: the outputs of the entropy model's modules, kept at full width (codecs/slimvc.py)
BOUNDARIES = {"SlimHE.conv3", "SlimHD.conv3", "SlimTPM.conv3", "SlimEPM.conv3"}

NOTATION = re.compile(r"S(Conv|Deconv)(\d+)x(\d+)s(\d+) c([\d/]+)")


@pytest.fixture(scope="module")
def full():
    torch.manual_seed(0)
    return SLIMVC().eval()


@pytest.fixture(scope="module")
def space():
    return load_space("slimvc")


def active_params(module: torch.nn.Module) -> int:
    """Parameters used at the module's width: a switchable GDN counts only its set for that width (the
    full-width model holds one set per factor; Table 1 counts one network per factor)."""
    total = 0
    for name, p in module.named_parameters():
        total += p.numel() if ".gdn." not in f".{name}" else 0
    for sub in module.modules():
        if isinstance(sub, SwitchableGDN):
            total += sum(p.numel() for p in sub.gdn[str(sub.out_w.now)].parameters())
    return total


def convs(module: torch.nn.Module) -> list:
    return [m for m in module.modules() if isinstance(m, (SlimConv2d, SlimConvTranspose2d))]


def test_table_factors_and_rounding():
    assert list(SLIMVC.FACTORS) == TABLE["width_factors"]
    assert SLIMVC.uniform_layout(0.25)["SlimTPM.conv1"] == 107  # 106.5 rounds half up


@pytest.mark.parametrize("index", range(5))
def test_table_widths_kernels_and_gdns(index):
    factor = TABLE["width_factors"][index]
    model = SLIMVC(SLIMVC.uniform_layout(factor))
    rows = model.widths.rows
    for name in MODULES:
        entries = TABLE["modules"][name]["layers"]
        specs = [NOTATION.fullmatch(e) for e in entries if e.startswith("S")]
        assert all(specs), entries
        layers = [m for m in convs(getattr(model, name))]
        assert len(layers) == len(specs), name
        for conv, spec in zip(layers, specs):
            kind, kh, kw, stride, widths = spec.groups()
            printed = int(widths.split("/")[index])
            assert conv.kernel_size == (int(kh), int(kw)), conv.row
            assert conv.stride == (int(stride), int(stride)), conv.row
            transposed = isinstance(conv, SlimConvTranspose2d)
            if conv.row.startswith("SlimHD.deconv"):
                # Table 1 prints SConv5x5s2, but a hyper decoder upsamples: transposed (its notes)
                assert kind == "Conv" and transposed
            else:
                assert transposed == (kind == "Deconv"), conv.row
            numbers = [n.now for n in rows[conv.row].numbers]
            if conv.row == "SlimFD.deconv3":
                # Table 1's note: the figures of the last SlimFD layer are its input widths
                assert numbers == [printed, 3]
                assert conv.out_channels == 3
            elif conv.row in BOUNDARIES:
                # the last layer of an entropy module: Table 1's architecture column prints it slimmed,
                # its parameter column (and so this codec) keeps it at full width: the last figure
                full_width = int(widths.split("/")[-1])
                assert numbers[-1] == conv.out_channels == full_width, conv.row
            else:
                assert numbers[-1] == printed, conv.row
                assert conv.out_channels == printed, conv.row
        gdns = [m for m in getattr(model, name).modules() if isinstance(m, SwitchableGDN)]
        printed_gdns = [e for e in entries if "GDN" in e]
        assert [("swIGDN" if g.gdn[str(g.out_w.now)].inverse else "swGDN") for g in gdns] \
            == printed_gdns, name
        if factor != 1.0:  # built at a layout, a switchable GDN holds only that width's set
            for g in gdns:
                assert list(g.gdn) == [str(g.out_w.now)]


def test_table_params(full):
    for name in MODULES:
        printed = TABLE["modules"][name]["params_m"]
        expected = OUR_PARAMS_M.get(name, printed)
        got = []
        for factor in TABLE["width_factors"]:
            model = full if factor == 1.0 else SLIMVC(SLIMVC.uniform_layout(factor))
            got.append(round(active_params(getattr(model, name)) / 1e6, 1))
        assert got == expected, (name, got, printed)


def test_full_model_holds_every_gdn_set(full):
    for sub in full.modules():
        if isinstance(sub, SwitchableGDN):
            full_width = sub.out_w.full
            assert sorted(int(k) for k in sub.gdn) == sorted(
                {int(np.floor(f * full_width + 0.5)) for f in SLIMVC.FACTORS})


def test_decode_shapes(full):
    h, w = 96, 144
    inputs = full.decoder_inputs(h, w, batch=2)
    assert {k: tuple(v.shape) for k, v in inputs.items()} == {
        "y_hat": (2, 192, 8, 12), "y_hat_prev": (2, 192, 8, 12), "z_hat": (2, 256, 2, 3)}
    with torch.no_grad():
        out = full.decode(**inputs)
        frame = torch.rand(2, 3, h, w)
        enc = full.encode(frame, full.reference_latent(frame))
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "x_hat": (2, 3, 96, 144), "params": (2, 384, 8, 12), "means": (2, 192, 8, 12),
        "scales": (2, 192, 8, 12)}
    assert torch.equal(out["means"], out["params"][:, 0::2])
    assert torch.equal(out["scales"], out["params"][:, 1::2])
    assert tuple(enc["y"].shape) == (2, 192, 8, 12) and tuple(enc["z"].shape) == (2, 256, 2, 3)
    small = SLIMVC(SLIMVC.uniform_layout(0.375))
    with torch.no_grad():
        out = small.decode(**small.decoder_inputs(h, w))
    assert tuple(out["params"].shape) == (1, 384, 8, 12)  # the entropy model's output: full width
    assert tuple(out["means"].shape) == tuple(out["scales"].shape) == (1, 72, 8, 12)
    assert tuple(out["x_hat"].shape) == (1, 3, 96, 144)


def test_rows_cover_layers(full):
    assert list(full.widths.rows) == [layer.key for layer in SLIMVC.LAYERS]
    assert {m.row for m in full.modules() if hasattr(m, "row") and isinstance(m.row, str)} \
        == set(full.widths.rows)
    assert [n.full for n in full.widths.rows["SlimEPM.conv3"].numbers] == [1280, 384]


def test_space(space):
    assert [m.name for m in space.modules] == list(TABLE["modules"])
    assert not any(m.in_paper for m in space.modules)
    assert [m.name for m in space.modules if not m.decoder] == ["SlimFE", "SlimHE"]
    assert list(space.layers) == [layer.key for layer in SLIMVC.LAYERS]
    fixed = {k for k, layer in space.layers.items() if layer.fixed}
    assert fixed == {"SlimFD.deconv3", "SlimHE.conv3", "SlimHD.conv3", "SlimTPM.conv3", "SlimEPM.conv3"}
    for key, layer in space.layers.items():
        if not layer.fixed:
            assert sorted(layer.options) == sorted(
                SLIMVC.uniform_layout(f)[key] for f in SLIMVC.FACTORS), key
    assert len(space.groups) == 4
    uniform = parse_space({**read_yaml(SPACE_FILE), "uniform": True}, SPACE_FILE)
    assert len(uniform.groups) == 1
    for i, f in enumerate(sorted(SLIMVC.FACTORS, reverse=True)):
        assert uniform.layout_of([i]) == SLIMVC.uniform_layout(f)
