"""``python -m search.eval`` on a tiny run: a DVC trained 2 steps (and its quick I-frame codec trained
2 steps), evaluated on real clips with coded I-frames.

Cost: a DVC P-frame at 640x320 takes seconds on 2 CPU cores, so most cases use carphone (176x144,
padded to 192x192); one case runs ``data=default`` (the held-out frames of bikes and carphone).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from search.commands import eval as eval_cli
from search.commands import train as train_cli
from search.data import default_clips, read_video
from search.space import layout_file
from search.space import load_space

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = ["lambda", "sequence", "class", "frame", "type", "psnr", "ms_ssim", "bpp_i", "bpp_motion",
           "bpp_residual", "bpp", "bpp_source", "intra"]


def carphone() -> Path:
    return next(p for p in default_clips() if p.name == "carphone_pristine.mp4")


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict[str, Path]:
    """DVC trained 2 steps on 64x64 crops of carphone's first frames, and a smallest-layout file."""
    from PIL import Image

    base = tmp_path_factory.mktemp("evalrun")
    seq = base / "data" / "sequences" / "a" / "carphone"
    seq.mkdir(parents=True)
    for i, frame in enumerate(read_video(carphone(), max_frames=3)):
        Image.fromarray(frame).save(seq / f"im{i + 1}.png")
    train_cli.main(["space=dvc", f"data={base / 'data'}", "crop=64", "batch=1", "steps=2", "threads=2",
                    "intra=learned", "intra_quick_steps=2", f"out={base / 'train'}"])
    assert (base / "train" / "intra.pt").is_file()  # the quick learned I-frame codec, beside the checkpoints
    space = load_space("dvc")
    small = space.uniform_layout(max(space.group_sizes) - 1)
    assert small != space.full_layout()
    layout = layout_file(space, small, (1920, 1080), None, name="smallest").save(base / "smallest.yaml")
    return {"checkpoint": base / "train" / "checkpoints" / "step_00000002.pt", "layout": layout,
            "base": base}


def evaluate(capsys, run, out: Path, *args: str) -> tuple[pd.DataFrame, str]:
    capsys.readouterr()
    assert eval_cli.main(["space=dvc", f"checkpoint={run['checkpoint']}", "threads=2", f"out={out}",
                          *args]) == 0
    return pd.read_csv(out), capsys.readouterr().out


@pytest.fixture(scope="module")
def bitstream_run(run) -> tuple[pd.DataFrame, str]:
    """The real command, real bitstreams: carphone frames 0..4 in GOPs of 2."""
    out = run["base"] / "bits.csv"
    done = subprocess.run([sys.executable, "-m", "search.eval", "space=dvc", f"checkpoint={run['checkpoint']}",
                           f"data={carphone()}", "max_frames=5", "gop_size=2", "bitstream=true",
                           "intra=learned", "threads=2", f"out={out}"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return pd.read_csv(out), done.stdout


def test_csv_and_summary_from_real_bitstreams(bitstream_run):
    frames, stdout = bitstream_run
    assert list(frames.columns) == COLUMNS
    # GOPs of 2 from frame 0: I-frames 0, 2, 4 (coded by the quick codec beside the checkpoint), P 1, 3
    assert frames["frame"].tolist() == [0, 1, 2, 3, 4]
    assert frames["type"].tolist() == ["I", "P", "I", "P", "I"]
    assert (frames.loc[frames["type"] == "I", "bpp_i"] > 0).all()
    assert (frames.loc[frames["type"] == "P", ["bpp_motion", "bpp_residual"]] > 0).all().all()
    assert set(frames["bpp_source"]) == {"P: bitstream, I: bitstream"}
    assert frames["intra"].iloc[0] == "cheng2020-anchor (quick)"
    assert (frames["bpp"] - frames[["bpp_i", "bpp_motion", "bpp_residual"]].sum(1)).abs().max() < 1e-9
    assert frames["psnr"].between(0, 100).all() and frames["ms_ssim"].between(-1, 1).all()
    assert "cheng2020-anchor (quick) I-frames" in stdout and "carphone_pristine" in stdout


def test_likelihood_bpp_matches_bitstream_bpp(run, bitstream_run, capsys):
    bits, _ = bitstream_run
    frames, stdout = evaluate(capsys, run, run["base"] / "lik.csv", f"data={carphone()}", "max_frames=5",
                              "gop_size=2", "bitstream=false", "intra=learned")
    assert "P: likelihood, I: bitstream" in stdout
    assert frames["frame"].tolist() == bits["frame"].tolist()
    # same quantised latents: the same reconstruction, and bits within 20% of the model's estimate
    assert frames["psnr"].tolist() == pytest.approx(bits["psnr"].tolist(), abs=1e-3)
    p_bits, p_lik = bits[bits["type"] == "P"], frames[frames["type"] == "P"]
    for part in ("bpp_motion", "bpp_residual", "bpp"):
        ratio = p_bits[part].to_numpy() / p_lik[part].to_numpy()
        assert ((0.8 < ratio) & (ratio < 1.2)).all(), (part, ratio.tolist())
    assert (bits.loc[bits["type"] == "I", "bpp_i"].to_numpy()
            == frames.loc[frames["type"] == "I", "bpp_i"].to_numpy()).all()


def test_default_data_is_the_held_out_tail_with_pristine_reference(run, capsys):
    frames, stdout = evaluate(capsys, run, run["base"] / "default.csv", "data=default", "max_frames=2",
                              "gop_size=2", "max_gops=1", "bitstream=false", "intra=pristine")
    assert list(frames.columns) == COLUMNS
    assert frames["sequence"].tolist() == ["bikes", "carphone_pristine"]
    assert frames["frame"].tolist() == [1, 1] and set(frames["class"]) == {"bundled"}
    assert frames["intra"].iloc[0] == "pristine (not comparable)"
    assert "pristine (not comparable) I-frames" in stdout


def test_several_checkpoints_are_an_rd_curve(run, tmp_path, capsys):
    """Public-style state dicts record no lambda: lmbda=[...] gives each its RD point."""
    import torch

    state = torch.load(run["checkpoint"], map_location="cpu", weights_only=False)["modules"]["model"]
    public = [tmp_path / f"public_{i}.pth" for i in (1, 2)]
    for path in public:
        torch.save(state, path)
    out = tmp_path / "curve"
    capsys.readouterr()
    assert eval_cli.main(["space=dvc", f"checkpoint=[{public[0]},{public[1]}]", "lmbda=[256,2048]",
                          f"data={carphone()}", "max_frames=2", "gop_size=2", "bitstream=false",
                          "intra=pristine", "threads=2", f"out={out}"]) == 0
    frames = pd.read_csv(out / "frames.csv")
    assert sorted(frames["lambda"].unique()) == [256.0, 2048.0]
    classes = pd.read_csv(out / "classes.csv")
    assert list(classes.columns[:2]) == ["lambda", "class"] and len(classes) == 2
    for name in ("sequences.csv", "rd_psnr.png", "rd_psnr.svg", "rd_msssim.png"):
        assert (out / name).is_file(), name
    with pytest.raises(SystemExit):  # one lambda per checkpoint
        eval_cli.main(["space=dvc", f"checkpoint={public[0]}", "lmbda=[256,512]", f"out={tmp_path / 'x'}"])


def test_smallest_layout_slices_the_full_checkpoint(run, capsys):
    full, _ = evaluate(capsys, run, run["base"] / "full.csv", f"data={carphone()}", "max_frames=2",
                       "gop_size=2", "bitstream=false")
    small, stdout = evaluate(capsys, run, run["base"] / "small.csv", f"data={carphone()}", "max_frames=2",
                             "gop_size=2", "bitstream=false", f"layout={run['layout']}")
    assert small["frame"].tolist() == [0, 1]
    assert small[["psnr", "bpp"]].notna().all().all()
    assert small["psnr"].iloc[0] == full["psnr"].iloc[0]  # the same I-frame codec
    assert small["psnr"].iloc[1] != full["psnr"].iloc[1]  # another (sliced) P-frame model


def test_checkpoint_of_another_codec(run, tmp_path, capsys):
    out = tmp_path / "frames.csv"
    with pytest.raises(SystemExit) as exc:
        eval_cli.main(["space=fvc", f"checkpoint={run['checkpoint']}", f"data={carphone()}",
                       "max_frames=2", f"out={out}"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'dvc'" in err[0] and "'fvc'" in err[0]
    assert not out.exists()
