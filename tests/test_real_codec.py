"""A real codec on this machine: classical I-frames (x265's HEVC intra, as BPG, and AVIF) through their
real bitstreams, the presets' I-frame coders, FVC's "copy the reference" start, and the keys' bad input."""
from __future__ import annotations

import pytest
import torch

from search.config import Config, resolve
from search.data import default_clips, read_video
from search.errors import BadInput
from search.evaluation import code_i_frame
from search.evaluation.metrics import psnr
from search.intra import ClassicalIntra, classical_intra
from search.space import load_space


def carphone():
    return next(p for p in default_clips() if p.name == "carphone_pristine.mp4")


@pytest.fixture(scope="module")
def frame() -> torch.Tensor:
    """A 64x64 crop of carphone's first frame, [1, 3, 64, 64] in [0, 1]."""
    rgb = read_video(carphone(), max_frames=1)[0][40:104, 40:104]
    return torch.from_numpy(rgb.copy()).permute(2, 0, 1)[None].float() / 255


@pytest.mark.parametrize("kind, qualities", [("hevc", (40, 30, 20)), ("avif", (30, 60, 90))])
def test_round_trip_bits_and_quality_rise_together(frame, kind, qualities):
    """Lower QP (higher AVIF quality): more bits and a higher PSNR, every bit from the bitstream."""
    coded = [ClassicalIntra(kind, q).code(frame) for q in qualities]
    for x_hat, bits in coded:
        assert x_hat.shape == frame.shape and 0 <= x_hat.min() and x_hat.max() <= 1
        assert bits > 0 and bits % 8 == 0
    figures = [(psnr(x_hat, frame), bits) for x_hat, bits in coded]
    assert [p for p, _ in figures] == sorted(p for p, _ in figures) and figures[-1][0] > figures[0][0] + 3
    assert [b for _, b in figures] == sorted(b for _, b in figures)
    assert figures[-1][0] > 35  # a near-lossless end: the conversion itself loses little


def test_lambda_picks_dvcs_qp():
    """DVC's BPG QPs (OpenDVC): lambda 256 / 512 / 1024 / 2048 -> 37 / 32 / 27 / 22; nearest in log."""
    assert [classical_intra("hevc", l).quality for l in (256, 512, 1024, 2048)] == [37, 32, 27, 22]
    assert classical_intra("hevc", 700).quality == 32 and classical_intra("hevc", 4096).quality == 22
    assert classical_intra("hevc", 1024, quality=30).quality == 30
    avif = [classical_intra("avif", l).quality for l in (256, 512, 1024, 2048)]
    assert avif == sorted(avif)


def test_odd_frame_is_coded_at_even_size_and_padded_back(frame):
    """A 63x61 frame padded to 64x64: the coder sees 64x62 (even), the reconstruction comes back
    at the padded size with the padding replicated."""
    x = torch.nn.functional.pad(frame[..., :63, :61], (0, 3, 0, 1), mode="replicate")
    x_hat, bits = code_i_frame(classical_intra("hevc", 1024), x, (63, 61))
    assert x_hat.shape == x.shape and bits > 0
    assert torch.equal(x_hat[..., 62:], x_hat[..., 61:62].expand_as(x_hat[..., 62:]))


@pytest.mark.parametrize("preset, mode", [("quick", "hevc"), ("paper", "learned")])
def test_preset_intra_defaults(preset, mode):
    space = load_space("dvc")
    cfg = resolve(Config(space="dvc", preset=preset, data="vimeo"), space.codec, space.codec_name)
    assert cfg.intra.mode == mode
    given = Config(space="dvc", preset=preset, data="vimeo")
    given.intra.mode = "avif"
    assert resolve(given, space.codec, space.codec_name).intra.mode == "avif"


@pytest.mark.parametrize("args, needle", [
    (["intra=jpeg"], "intra='jpeg': expected one of hevc, avif, learned, pristine"),
    (["intra=hevc", "intra_quality=60"], "intra_quality=60: intra=hevc takes a QP in 0..51"),
    (["intra=learned", "intra_quality=5"], "intra_quality=5: only intra=hevc"),
])
def test_bad_intra_keys(capsys, tmp_path, args, needle):
    from search.commands import eval as eval_cli

    with pytest.raises(SystemExit) as exc:
        eval_cli.main(["space=dvc", f"data={carphone()}", "max_frames=1", *args,
                       f"out={tmp_path / 'frames.csv'}"])
    assert exc.value.code == 2
    assert needle in capsys.readouterr().err
    assert not (tmp_path / "frames.csv").exists()


def test_classical_intra_rejects_unknown_kind():
    with pytest.raises(BadInput):
        ClassicalIntra("bpg", 27)


def test_fvc_starts_as_copy_with_the_public_keys(frame):
    """start=copy moves only initial values: the same keys and shapes (a public state dict loads
    strictly), and before any training the P-frame path returns the reference exactly."""
    from search.training.weights import start_codec

    space = load_space("fvc")
    public = space.codec(space.full_layout())
    copy = start_codec(space.codec(space.full_layout()), "copy")
    assert {k: v.shape for k, v in copy.state_dict().items()} == \
        {k: v.shape for k, v in public.state_dict().items()}
    copy.load_state_dict(public.state_dict(), strict=True)  # and back: keys load strictly
    start_codec(copy, "copy").eval()
    ref, x = frame, frame.flip(-1)
    with torch.no_grad():
        assert torch.allclose(copy(ref, x)["x_hat"], ref, atol=1e-5)
        assert not torch.allclose(public.eval()(ref, x)["x_hat"], ref, atol=1e-2)
    dvc = load_space("dvc")  # a codec without such a start keeps the public one
    built = dvc.codec(dvc.full_layout())
    before = {k: v.clone() for k, v in built.state_dict().items()}
    assert all(torch.equal(before[k], v) for k, v in start_codec(built, "copy").state_dict().items())


def test_bad_start_key(capsys, tmp_path):
    from search.commands import train as train_cli

    with pytest.raises(SystemExit) as exc:
        train_cli.main(["space=fvc", "start=zeros", f"out={tmp_path / 'run'}"])
    assert exc.value.code == 2 and "start='zeros': expected copy" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
