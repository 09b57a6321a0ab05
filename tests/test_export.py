"""Exported architectures: the layout file (naming its codec and space) and the sliced
weights rebuild a model whose fvcore GMACs equal the reported figure and whose output equals the
full-width shared-weight model's at that layout; ``search.train`` fine-tunes it."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch
import yaml

from search.training import codes_images, latest_checkpoint
from search.complexity import Complexity, fvcore_macs, load_or_measure
from search.entropy import bits
from search.errors import BadInput
from search.outer import Exported, export_architecture, load_architecture
from search.space import open_layout
from search.space import load_space
from search.commands import train as train_cli

from conftest import assert_same_coding, sliced_and_masked

RESOLUTION = (128, 128)
SIZE = 64


def _quiet(*args, **kwargs):
    pass


def _slimmed_layout(space, seed: int = 3) -> dict[str, int]:
    """A random layout with every searchable group below full width (mixed options; fast to run)."""
    rng = np.random.default_rng(seed)
    return space.layout_of([rng.integers(1, n) if n > 1 else 0 for n in space.group_sizes])


def _frames(seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    ref = torch.rand(1, 3, SIZE, SIZE, generator=g)
    x = (ref.roll(2, 3) + 0.02 * torch.randn(ref.shape, generator=g)).clamp(0, 1)
    return ref, x


@dataclass
class Case:
    space: object
    complexity: Complexity
    layout: dict
    gmacs: float
    full: torch.nn.Module
    exported: Exported
    out: object


@pytest.fixture(scope="module", params=["fvc", "dvc", "slimcae", "evc"])
def case(request, tmp_path_factory) -> Case:
    """An architecture of the space exported from a full-width codec with non-trivial weights."""
    tmp = tmp_path_factory.mktemp(request.param)
    space = load_space(request.param)
    complexity = Complexity(load_or_measure(space, RESOLUTION, tmp / "profiles", log=_quiet), space)
    layout = _slimmed_layout(space)
    assert layout != space.full_layout()
    torch.manual_seed(0)
    full = space.codec().eval()  # stands for the supernet's full-width shared-weight codec
    with torch.no_grad():  # non-trivial weights everywhere, biases included
        for p in full.parameters():
            p.add_(0.01 * torch.randn(p.shape))
    gmacs = complexity.gmacs(layout)
    out = tmp / "run"
    exported = export_architecture(space, layout, full, out, "120", RESOLUTION, gmacs,
                                   {"preset": "quick", "lambda": 256.0, "target_gmacs": 120.0})
    return Case(space, complexity, layout, gmacs, full, exported, out)


def test_files(case):
    out, exported, layout = case.out, case.exported, case.layout
    assert exported.layout_path == out / "layouts" / "120.yaml"
    assert exported.weights_path == out / "weights" / "120.pt"
    assert sorted(p.name for p in (out / "layouts").iterdir()) == ["120.yaml"]  # no temp files
    assert sorted(p.name for p in (out / "weights").iterdir()) == ["120.pt"]
    data = yaml.safe_load(exported.layout_path.read_text())
    assert data["codec"] == case.space.codec_name and data["space"] == case.space.name
    assert data["resolution"] == "128x128" and data["preset"] == "quick" and data["lambda"] == 256.0
    assert "codec_args" not in data and data["layout"] == layout  # the layout once
    assert data["gmacs"] == round(case.gmacs, 6)  # GMACs to 6 decimals (SlimCAE at 128x128: 0.098)
    state = torch.load(exported.weights_path, map_location="cpu", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())  # a plain state dict


def test_round_trip_gmacs_and_output(case):
    """The YAML alone rebuilds that decoder; the weights load strictly; fvcore's count of it equals the
    reported figure; its output equals the full-width model's under that layout's masks."""
    space, layout, full = case.space, case.layout, case.full
    data = yaml.safe_load(case.exported.layout_path.read_text())
    model = load_architecture(case.exported.layout_path, case.exported.weights_path)
    assert model.layout == layout
    assert model.training is False
    measured = fvcore_macs(space, model.layout, RESOLUTION)
    decoder = sum(measured[m.name] for m in space.decoder_modules)
    assert decoder == data["macs"] == case.complexity.macs(layout)  # to the MAC
    assert decoder / 1e9 == case.gmacs and round(decoder / 1e9, 6) == data["gmacs"]

    ref, x = _frames()
    if codes_images(model):  # an image codec codes x alone
        with torch.no_grad():
            sliced = model(x)
            with full.at_layout(layout):
                masked = full(x)
        # the same image and the same bits (the masked latent channels of the full model rate 0 bits)
        torch.testing.assert_close(sliced["x_hat"], masked["x_hat"], atol=1e-5, rtol=1e-5)
        for name, p in sliced["likelihoods"]["image"].items():
            assert float(bits(p)) == pytest.approx(float(bits(masked["likelihoods"]["image"][name])),
                                                   rel=1e-5), name
    else:
        assert_same_coding(*sliced_and_masked(model, full, layout, ref, x))


def test_search_train_fine_tunes_it(case, tmp_path):
    """``python -m search.train layout=<yaml> checkpoint=<pt>`` (in-process: no import cost)."""
    run = tmp_path / "finetune"
    assert train_cli.main([f"layout={case.exported.layout_path}",
                           f"checkpoint={case.exported.weights_path}", "steps=2", "batch=1",
                           "crop=64", "intra=pristine", f"out={run}", "time_limit=0"]) == 0
    saved = latest_checkpoint(run / "checkpoints")
    assert saved is not None and saved.name.endswith("00000002.pt")
    state = torch.load(saved, map_location="cpu", weights_only=False)
    assert state["layout"] == case.layout and state["codec"] == case.space.codec_name


def test_bad_exports_and_files(tmp_path):
    space = load_space("dvc")
    full = space.codec()
    layout = space.uniform_layout(1)
    with pytest.raises(BadInput, match="name"):
        export_architecture(space, layout, full, tmp_path, "../x", (64, 64), 1.0)
    with pytest.raises(BadInput, match="reserved"):
        export_architecture(space, layout, full, tmp_path, "a", (64, 64), 1.0, {"layout": {}})
    bad = dict(layout)
    bad[next(iter(space.searchable))] = 3
    with pytest.raises(BadInput, match="not among its options"):
        export_architecture(space, bad, full, tmp_path, "a", (64, 64), 1.0)
    with pytest.raises(BadInput, match="codec"):
        export_architecture(space, layout, load_space("fvc").codec(), tmp_path, "a", (64, 64), 1.0)
    assert not any(tmp_path.iterdir())  # nothing written

    exported = export_architecture(space, layout, full, tmp_path, "a", (64, 64), None)
    data = yaml.safe_load(exported.layout_path.read_text())
    key = next(iter(space.searchable))
    other = [w for w in space.layers[key].options if w != data["layout"][key]][0]
    data["codec_args"] = {"layout": {**data["layout"], key: other}}  # as files of earlier versions
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(data))
    with pytest.raises(BadInput, match="disagree"):
        open_layout(broken)
    with pytest.raises(BadInput, match="checkpoint"):  # weights of another layout are refused
        full_weights = tmp_path / "full.pt"
        torch.save(full.state_dict(), full_weights)
        load_architecture(exported.layout_path, full_weights)
