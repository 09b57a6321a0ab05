"""EVC codec (codecs/evc.py): the public EVC_LL / EVC_LM / EVC_LS keys and shapes at the full / Medium /
Small layouts; the paper's Large / Medium / Small decoders as layouts of the space, their decoder
parameters against Table 3 and their GMACs at 1920x1080 counted both ways; sliced == masked on random
layouts; the structure report's rows in the paper's C1..C4 terms. Frames are 64x64 (one MULTIPLE)."""
from __future__ import annotations

import pytest
import torch

from search.codec import load_codec
from search.complexity import Complexity, load_or_measure
from search.files import read_yaml
from search.reports import Column, layer_notations, structure_table
from search.space import load_space, parse_space

from conftest import load_fixture

EVC = load_codec("evc")
TABLE3 = load_fixture("evc_table3.yaml")
KEY_FIXTURES = {"L": "evc_ll_keys.yaml", "M": "evc_lm_keys.yaml", "S": "evc_ls_keys.yaml"}
ENTROPY_MODULES = ("Hyper decoder", "Prior fusion", "Dual spatial prior")

# fvcore's counts at 1920x1080 (padded to 1920x1088), from the committed profile: (decoder transform, the
# paper's Table 3 "Decoder" scope; whole decoder side, ours). The entropy side adds 72.495 GMACs to every
# model (hyper decoder 4.343, prior fusion 23.606, dual spatial prior 44.547).
GMACS_1080P = {"L": (536.039, 608.534), "M": (256.645, 329.140), "S": (72.823, 145.318)}


@pytest.fixture(scope="module")
def space():
    return load_space("evc")


@pytest.fixture(scope="module")
def complexity(space):
    stale = "profiles/evc@1920x1080.json is missing or stale: python -m search.profile space=evc"
    profile = load_or_measure(space, (1920, 1080), write=False, log=lambda *a, **k: pytest.fail(stale))
    return Complexity(profile, space)


@pytest.fixture(scope="module")
def full():
    torch.manual_seed(0)
    return EVC().eval()


@pytest.mark.parametrize("name", ["L", "M", "S"])
def test_public_keys_and_shapes(name):
    """Our state_dict at the model's layout is the public class's, key for key and shape for shape, so a
    public checkpoint loads strictly."""
    expected = load_fixture(KEY_FIXTURES[name])
    model = EVC(EVC.model_layout(name))
    got = {k: list(v.shape) for k, v in model.state_dict().items()}
    assert set(got) == set(expected), sorted(set(got) ^ set(expected))[:5]
    assert got == expected
    model.load_state_dict({k: torch.zeros(shape) for k, shape in expected.items()}, strict=True)


def test_paper_models_are_layouts_of_the_space(space):
    assert EVC.model_layout("L") == space.full_layout()
    for name, spec in TABLE3["models"].items():
        layout = EVC.model_layout(name)
        space.check_layout(layout)
        c1, c2, c3, c4 = spec["channels"]
        assert (layout["dec.5.upsample"], layout["dec.3.upsample"], layout["dec.1.upsample"]) \
            == (c1, c2, c3) and c4 == 192
    with pytest.raises(ValueError):
        EVC.model_layout("XL")


def _params_m(module: torch.nn.Module) -> float:
    return sum(p.numel() for p in module.parameters()) / 1e6


@pytest.mark.parametrize("name", ["L", "M", "S"])
def test_table3_parameters_and_1080p_gmacs(name, complexity):
    """Table 3's "#Params (MB)", read as millions of parameters and printed to two decimals: our decoder
    transform at the model's layout must round to the printed figure (|ours - printed| <= 0.005 M), as
    must "Others" (everything but the encoder and the decoder transform); the encoder is always the
    Large one here, so it is compared for L only. It matches: 3.375 / 2.331 / 1.141 M. GMACs at 1920x1080
    (fvcore, from the committed profile) are checked two ways: the decoder transform alone (the paper's
    "Decoder" column) and the whole decoder side (ours), which adds the same entropy networks to each."""
    printed = TABLE3["models"][name]["params_m"]
    model = EVC(EVC.model_layout(name))
    decoder, encoder, total = _params_m(model.dec), _params_m(model.enc), _params_m(model)
    assert abs(decoder - printed["decoder"]) <= 0.005, decoder
    assert abs(total - encoder - decoder - printed["others"]) <= 0.005
    if name == "L":
        assert abs(encoder - printed["encoder"]) <= 0.005 and abs(total - printed["total"]) <= 0.005
    layout = EVC.model_layout(name)
    modules = complexity.module_macs(layout)
    transform, ours = GMACS_1080P[name]
    assert modules["Decoder transform"] / 1e9 == pytest.approx(transform, abs=5e-4)
    assert complexity.gmacs(layout) == pytest.approx(ours, abs=5e-4)
    assert sum(modules[m] for m in ENTROPY_MODULES) / 1e9 == pytest.approx(ours - transform, abs=1e-3)


def test_decoder_gmacs_both_ways(space, complexity):
    """The space's decoder flags give both counts from one profile: as it is, the decoder total is ours
    (all four modules); with the entropy modules set `decoder: false` it is the paper's (the decoder
    transform alone). The structure report shows both: the module row and the total."""
    data = read_yaml(space.path)
    for module in data["modules"]:
        if module["name"] in ENTROPY_MODULES:
            module["decoder"] = False
    paper = Complexity(complexity.profile, parse_space(data, space.path))
    columns = [Column(name, EVC.model_layout(name)) for name in ("L", "M", "S")]
    table = structure_table(space, complexity, columns)
    module_row = next(r for r in table.rows if r.label == "Decoder transform GMACs")
    total_row = next(r for r in table.rows if r.kind == "total")
    for i, column in enumerate(columns):
        modules = complexity.module_macs(column.layout)
        assert paper.macs(column.layout) == modules["Decoder transform"]
        assert complexity.macs(column.layout) == sum(modules.values())
        assert module_row.cells[i] == f"{modules['Decoder transform'] / 1e9:.3f}"
        assert total_row.cells[i] == f"{complexity.macs(column.layout) / 1e9:.3f}"


def test_report_rows_in_paper_terms(space):
    """Each decoder row at the Small layout (C1..C4 = 64, 64, 128, 192): R(trunk, hidden) for the
    depth-conv blocks' two parts and the upsampling blocks' main branch, S(in, out) for the sub-pixel
    shortcuts that set C3, C2, C1, and the image output."""
    notes = layer_notations(space, EVC.model_layout("S"))
    decoder = {k: v for k, v in notes.items() if k.startswith("dec.")}
    assert decoder == {
        "dec.0.block.0": "R(192,192)", "dec.0.block.1": "R(192,768)",
        "dec.1": "R(128,128)↑", "dec.1.upsample": "S(192,128)↑",
        "dec.2.block.0": "R(128,128)", "dec.2.block.1": "R(128,512)",
        "dec.3": "R(64,64)↑", "dec.3.upsample": "S(128,64)↑",
        "dec.4.block.0": "R(64,64)", "dec.4.block.1": "R(64,256)",
        "dec.5": "R(64,64)↑", "dec.5.upsample": "S(64,64)↑",
        "dec.6.block.0": "R(64,64)", "dec.6.block.1": "R(64,256)",
        "dec.7": "S(64,3)↑"}
    assert list(EVC().widths.rows) == [layer.key for layer in EVC.LAYERS]
    assert all(space.layers[k].fixed for k in notes if not k.startswith("dec."))


def test_rate_knob(full):
    """q_scale is an anchor index (the learned q_step^global) or a float; q_step^ch is at least 0.5."""
    with torch.no_grad():
        full.q_scale.copy_(torch.tensor([2.0, 1.0, 0.5, 0.25]).view(4, 1, 1, 1))
        full.q_basic.fill_(0.1)
        torch.testing.assert_close(full.curr_q(0), torch.full((1, 192, 1, 1), 1.0))
        torch.testing.assert_close(full.curr_q(3), torch.full((1, 192, 1, 1), 0.125))
        torch.testing.assert_close(full.curr_q(0.7), torch.full((1, 192, 1, 1), 0.35))
        full.q_scale.fill_(1.0)
        full.q_basic.fill_(1.0)
    with pytest.raises(ValueError, match="anchors 0..3"):
        full.curr_q(4)
