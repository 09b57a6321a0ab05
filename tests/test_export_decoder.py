"""``python -m search.export``: a chosen decoder as standalone models, at 64x64.

The ONNX files are run here with onnxruntime alone (not through the job's own runner) against the
sliced PyTorch decoder; the manifest's MACs are checked against the closed form; bad input is one
line, exit status 2, before any export.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from search.commands import export as export_cli
from search.complexity import Complexity, measure_profile
from search.space import layout_file, load_space
from search.training import codec_at_layout

SIZE = (64, 64)


def _half_layout(tmp_path: Path, name: str) -> tuple[Path, dict[str, int]]:
    """A layout file of ``name``'s space at the second width option of every group (half width)."""
    space = load_space(name)
    layout = space.layout_of([1] * len(space.group_sizes))
    path = tmp_path / f"{name}-half.yaml"
    layout_file(space, layout, SIZE, None, name="half").save(path)
    return path, layout


def _export(tmp_path: Path, *args: str) -> dict:
    out = tmp_path / "out"
    code = export_cli.main([*args, f"out={out}", "resolution=64x64", "threads=1", "repeats=1"])
    assert code == 0
    return json.loads((out / "manifest.json").read_text())


@pytest.fixture(scope="module")
def dvc_onnx(tmp_path_factory):
    """DVC (its residual decoder has GDNs) at half width, exported to ONNX with random weights."""
    tmp = tmp_path_factory.mktemp("dvc")
    path, layout = _half_layout(tmp, "dvc")
    return tmp / "out", layout, _export(tmp, f"layout={path}", "format=onnx", "seed=3")


def test_onnx_files_run_in_onnxruntime_as_the_sliced_decoder(dvc_onnx):
    out, layout, manifest = dvc_onnx
    space = load_space("dvc")  # before seeding: as the job, build the codec right after the seed
    torch.manual_seed(3)
    codec = codec_at_layout(space, layout)
    g = torch.Generator().manual_seed(11)
    ref, mv = torch.rand(1, 3, 64, 64, generator=g), torch.randn(1, 2, 64, 64, generator=g)
    q_res = torch.randn(1, 96, 4, 4, generator=g).round()
    session = ort.InferenceSession(str(out / "motion_compensation.onnx"),
                                   providers=["CPUExecutionProvider"])
    (prediction,) = session.run(None, {"ref": ref.numpy(), "mv": mv.numpy()})
    session = ort.InferenceSession(str(out / "residual_decoder.onnx"),
                                   providers=["CPUExecutionProvider"])
    (x_hat,) = session.run(None, {"prediction": prediction, "q_res": q_res.numpy()})
    with torch.no_grad():
        expected = codec.reconstruct(codec.compensate(ref, mv)["prediction"], q_res)
    assert np.abs(x_hat - expected.numpy()).max() < 1e-4
    # the channels are really removed: the half-width residual decoder's weights only
    assert codec.resDecoder.deconv1.weight.shape[1] == layout["resDecoder.deconv1"] < 64


def test_manifest_names_shapes_macs_and_differences(dvc_onnx):
    out, layout, manifest = dvc_onnx
    assert manifest["format"] == "onnx" and manifest["opset"] == 19 and manifest["verified"]
    assert manifest["layout"] == layout and manifest["weights"] == "random initialisation, seed 3"
    assert manifest["resolution"] == "64x64" and "CompressAI" in manifest["entropy_decoding"]
    parts = {p["name"]: p for p in manifest["parts"]}
    assert list(parts) == ["motion_decoder", "motion_compensation", "residual_decoder",
                           "hyper_decoder"]
    assert [t["name"] for t in parts["residual_decoder"]["inputs"]] == ["prediction", "q_res"]
    assert parts["residual_decoder"]["outputs"] == [{"name": "x_hat", "shape": [1, 3, 64, 64],
                                                     "dtype": "float32"}]
    assert parts["motion_decoder"]["outputs"][0]["shape"] == [1, 2, 64, 64]
    for part in parts.values():
        assert (out / part["file"]).is_file()
        assert part["max_abs_diff"] <= 1e-4 and part["ratio"] > 0
    assert manifest["max_abs_diff"] == max(p["max_abs_diff"] for p in parts.values())
    space = load_space("dvc")
    complexity = Complexity(measure_profile(space, SIZE), space)
    assert all(p["macs_fvcore"] == p["macs_closed_form"] for p in parts.values())
    assert sum(p["macs_fvcore"] for p in parts.values()) == complexity.macs(layout)
    assert manifest["gmacs"] == pytest.approx(complexity.gmacs(layout))


@pytest.mark.parametrize("fmt,suffix", [("torchscript", ".ts.pt"), ("pt2", ".pt2")])
def test_slimcae_synthesis_in_the_torch_formats(tmp_path, fmt, suffix):
    """SlimCAE's synthesis (switchable GDNs) traced to TorchScript and exported as .pt2 loads back
    and decodes as the PyTorch synthesis."""
    path, layout = _half_layout(tmp_path, "slimcae")
    manifest = _export(tmp_path, f"layout={path}", f"format={fmt}")
    (part,) = manifest["parts"]
    assert part["name"] == "synthesis" and part["file"] == f"synthesis{suffix}"
    y = torch.randn(part["inputs"][0]["shape"]).round()
    file = str(tmp_path / "out" / part["file"])
    loaded = torch.jit.load(file) if fmt == "torchscript" else torch.export.load(file).module()
    space = load_space("slimcae")
    torch.manual_seed(0)
    codec = codec_at_layout(space, layout)
    with torch.no_grad():
        got, expected = loaded(y), codec.synthesis(y)
    got = got[0] if isinstance(got, (tuple, list)) else got
    assert (got - expected).abs().max() < 1e-4


def test_dcvc_keeps_its_autoregressive_context_models_in_pytorch(tmp_path):
    manifest = _export(tmp_path, "space=dcvc", "format=onnx")
    parts = {p["name"]: p for p in manifest["parts"]}
    kept = parts.pop("context_models")
    assert "autoregressive" in kept["kept_in_pytorch"] and kept["file"] == ""
    assert kept["max_abs_diff"] is None and kept["macs_fvcore"] == kept["macs_closed_form"] > 0
    assert set(parts) == {"motion", "temporal_prior", "frame_decoder", "hyper_decoders"}
    assert all((tmp_path / "out" / p["file"]).is_file() and p["max_abs_diff"] <= 1e-4
               for p in parts.values())


def _refused(capsys, *args: str) -> str:
    with pytest.raises(SystemExit) as exit_:
        export_cli.main(list(args))
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


def test_bad_input_is_one_line_exit_2_before_any_export(tmp_path, capsys):
    out = tmp_path / "out"
    assert "accepted: onnx, torchscript, pt2" in _refused(capsys, "space=dvc", "format=tflite",
                                                           f"out={out}")
    assert "missing.yaml" in _refused(capsys, f"layout={tmp_path / 'missing.yaml'}", f"out={out}")
    path, _ = _half_layout(tmp_path, "fvc")
    text = path.read_text().replace("space: fvc", "space: dvc").replace("codec: fvc", "codec: dvc")
    (tmp_path / "other.yaml").write_text(text)
    assert "error:" in _refused(capsys, f"layout={tmp_path / 'other.yaml'}", f"out={out}")
    assert "opsets 19 (DeformConv" in _refused(capsys, "space=fvc", "opset=17", f"out={out}")
    assert "device" in _refused(capsys, "space=dvc", "device=cuda", f"out={out}")
    assert not out.exists()


def test_a_part_refusing_a_format_is_one_line(tmp_path):
    """A codec may mark a part that a format cannot hold (``ExportPart.refused``): writing it is
    refused with that reason, naming the part."""
    from search.deploy import FORMATS, write_part
    from search.errors import BadInput

    space = load_space("slimcae")
    (part,) = space.codec(None).eval().export_parts(64, 64)
    part.refused["torchscript"] = "no reason but this test's"
    with pytest.raises(BadInput, match="part 'synthesis' cannot be exported as torchscript: no reason"):
        write_part(part, FORMATS["torchscript"], tmp_path / "s.ts.pt")
    assert not (tmp_path / "s.ts.pt").exists()


def test_a_difference_beyond_the_tolerance_fails_the_export(tmp_path, capsys):
    out = tmp_path / "out"
    code = export_cli.main(["space=slimcae", "format=onnx", f"out={out}", "resolution=64x64",
                            "threads=1", "repeats=1", "tolerance=1e-12"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert code == 1 and not manifest["verified"] and manifest["max_abs_diff"] > 1e-12
    assert "differs from PyTorch" in capsys.readouterr().err
