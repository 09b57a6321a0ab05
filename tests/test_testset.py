"""Test sequences as the field stores them, evaluated with coded I-frames.

From a bundled clip (carphone, cropped to 64x64) the tests write an 8-bit and a 10-bit raw YUV 4:2:0
file and a PNG folder, read them back lazily, evaluate a tiny codec on them with a tiny learned
I-frame codec, and check the figures against an independent computation.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

from search.config import EvalConfig
from search.data import Clips, YuvOptions, default_clips, open_test_set, read_video
from search.data.color import rgb_to_yuv420, yuv420_to_rgb
from search.data.testset import HELD_OUT, parse_yuv_name, sequence_class
from search.data.video import VALIDATION
from search.errors import BadInput
from search.evaluation import Protocol, evaluate, mean_figures, per_class, per_sequence, stream_bits
from search.intra import QuickIntra, load_intra, save_intra, train_quick_intra
from search.space import load_space

FRAMES, SIZE = 5, 64


@pytest.fixture(scope="module")
def rgb_frames() -> np.ndarray:
    """uint8 [5, 64, 64, 3]: the first frames of carphone, centre crop."""
    frames = read_video(default_clips()[1], max_frames=FRAMES)
    return frames[:, 40:40 + SIZE, 56:56 + SIZE]


def _planes(frames: np.ndarray, bitdepth: int) -> list[tuple[np.ndarray, ...]]:
    rgb = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255
    peak = 2 ** bitdepth - 1
    out = []
    for f in rgb:
        planes = rgb_to_yuv420(f[None], "bt709", bitdepth)
        out.append(tuple(np.rint(p[0, 0].numpy() * peak).astype(np.uint8 if bitdepth == 8 else "<u2")
                         for p in planes))
    return out


@pytest.fixture(scope="module")
def test_set(tmp_path_factory, rgb_frames):
    """A folder: class8/Carphone_64x64_30.yuv (8-bit), class10/..._10bit.yuv, pngs/Carphone/im*.png."""
    root = tmp_path_factory.mktemp("testset")
    for depth, name in ((8, "Carphone_64x64_30.yuv"), (10, "Carphone_64x64_30fps_420_10bit.yuv")):
        (root / f"class{depth}").mkdir()
        with open(root / f"class{depth}" / name, "wb") as f:
            for planes in _planes(rgb_frames, depth):
                for p in planes:
                    f.write(p.tobytes())
    folder = root / "pngs" / "Carphone"
    folder.mkdir(parents=True)
    for i, frame in enumerate(rgb_frames):
        Image.fromarray(frame).save(folder / f"im{i + 1:05d}.png")
    return root


def test_names_give_size_rate_and_depth():
    assert parse_yuv_name("BasketballDrive_1920x1080_50.yuv") == {"width": 1920, "height": 1080,
                                                                  "bitdepth": 8, "fps": 50.0}
    assert parse_yuv_name("Beauty_1920x1080_120fps_420_10bit_YUV.yuv") == {
        "width": 1920, "height": 1080, "bitdepth": 10, "fps": 120.0}
    assert "fps" not in parse_yuv_name("X_1920x1080_420_8bit.yuv")  # 420 is the chroma format
    assert sequence_class("BasketballDrive_1920x1080_50", 1080) == "HEVC-B"
    assert sequence_class("RaceHorses_832x480_30", 480) == "HEVC-C"
    assert sequence_class("RaceHorses_416x240_30", 240) == "HEVC-D"
    assert sequence_class("Beauty_1920x1080_120fps", 1080) == "UVG"
    assert sequence_class("videoSRC07_1920x1080_30", 1080) == "MCL-JCV"
    assert sequence_class("mine", 720, "folder") == "folder"


def test_readers_agree_with_the_source(test_set, rgb_frames):
    sequences = {(s.group, s.bitdepth): s for s in open_test_set(str(test_set))}
    assert set(sequences) == {("class8", 8), ("class10", 10), ("pngs", 8)}
    for (group, depth), seq in sequences.items():
        assert (seq.width, seq.height, seq.length) == (SIZE, SIZE, FRAMES), group
        frames = list(seq.frames())
        assert len(frames) == FRAMES and frames[0].rgb.shape == (1, 3, SIZE, SIZE)
        original = torch.from_numpy(rgb_frames[2]).permute(2, 0, 1)[None].float() / 255
        error = (frames[2].rgb - original).abs().mean().item()
        if group == "pngs":
            assert error == 0 and frames[2].yuv is None
        else:  # 4:2:0 subsampling and quantisation of the planes
            assert error < 0.02 and frames[2].yuv[1].shape == (1, 1, SIZE // 2, SIZE // 2)
    assert sequences[("class8", 8)].fps == 30.0 and sequences[("class10", 10)].fps == 30.0
    # frames are read on demand: a part of the sequence reads only that part
    assert len(list(sequences[("class10", 10)].frames(3))) == 2


def test_bt601_is_limited_range():
    y, u, v = (torch.full((1, 1, 2, 2), 16 / 255), torch.full((1, 1, 1, 1), 128 / 255),
               torch.full((1, 1, 1, 1), 128 / 255))
    assert yuv420_to_rgb(y, u, v, "bt601").abs().max() < 1e-6  # video black is RGB black
    assert (yuv420_to_rgb(torch.full_like(y, 235 / 255), u, v, "bt601") - 1).abs().max() < 1e-5
    with pytest.raises(BadInput, match="yuv_to_rgb"):
        open_test_set("default", YuvOptions(matrix="srgb"))


def test_default_test_set_is_the_held_out_tail():
    """The bundled clips split by frames: training, validation (ranking, decision), test; no frame in
    two parts, and the parts follow each other."""
    sequences = open_test_set("default")
    parts = {part: Clips("default", part=part) for part in ("train", "rank", "decide", "test")}
    for i, seq in enumerate(sequences):
        assert seq.length == HELD_OUT and seq.group == "bundled"
        whole = read_video(default_clips()[i])
        assert parts["train"].shape(i)[0] == len(whole) - HELD_OUT - VALIDATION  # never the tail
        start = 0
        for part, clips in parts.items():
            count = clips.shape(i)[0]
            np.testing.assert_array_equal(clips[i], whole[start:start + count], err_msg=part)
            start += count
        assert start == len(whole)
        first = next(seq.frames()).rgb
        expected = torch.from_numpy(whole[len(whole) - HELD_OUT]).permute(2, 0, 1)[None].float() / 255
        assert torch.equal(first, expected)


@pytest.fixture(scope="module")
def tiny_intra(tmp_path_factory):
    codec = train_quick_intra(Clips("default"), 1024.0, 0, budget=QuickIntra(steps=2, batch=2),
                              progress=False)
    path = save_intra(tmp_path_factory.mktemp("intra") / "intra.pt", codec)
    return load_intra(path)


def test_evaluation_with_coded_i_frames(test_set, tiny_intra):
    torch.manual_seed(0)
    model = load_space("dvc").codec().eval()
    protocol = Protocol.of(EvalConfig(gop_size=3, yuv_psnr=True, bitstream=True))
    sequences = open_test_set(str(test_set))
    frames = evaluate(model, sequences, protocol, tiny_intra, progress=False, point=1024.0)
    assert len(frames) == 3 * FRAMES
    i_rows = frames[frames["type"] == "I"]
    assert list(i_rows["frame"].unique()) == [0, 3] and (i_rows["bpp_i"] > 0).all()
    assert (frames.loc[frames["type"] == "P", "bpp_i"] == 0).all()
    assert np.allclose(frames["bpp"], frames[["bpp_i", "bpp_motion", "bpp_residual"]].sum(1))
    assert np.allclose(frames["psnr_yuv"], (6 * frames["psnr_y"] + frames["psnr_u"] + frames["psnr_v"]) / 8)
    # the I-frame's figures, computed independently
    png = next(s for s in sequences if s.group == "pngs")
    x = next(png.frames()).rgb
    with torch.no_grad():
        compressed = tiny_intra.model.compress(x)
        x_hat = tiny_intra.model.decompress(compressed["strings"], compressed["shape"])["x_hat"].clamp(0, 1)
    row = frames[(frames["class"] == "pngs") & (frames["frame"] == 0)].iloc[0]
    assert row["bpp_i"] == pytest.approx(stream_bits(compressed["strings"]) / SIZE ** 2)
    mse = torch.mean((x_hat - x) ** 2).item()
    assert row["psnr"] == pytest.approx(10 * math.log10(1 / mse), rel=1e-6)
    # averaged per frame, then per sequence, then per class
    seqs = per_sequence(frames)
    classes = per_class(seqs)
    assert len(seqs) == 3 and len(classes) == 3 and (seqs["frames"] == FRAMES).all()
    by_frame = frames.groupby("class")["psnr"].mean()
    assert np.allclose(classes.set_index("class")["psnr"].loc[by_frame.index], by_frame)
    assert mean_figures(frames)["bpp"] == pytest.approx(classes["bpp"].mean())


def test_pristine_i_frames_are_not_coded(test_set):
    model = load_space("dvc").codec().eval()
    protocol = Protocol.of(EvalConfig(gop_size=3, bitstream=False))
    frames = evaluate(model, open_test_set(str(test_set / "pngs")), protocol, None, progress=False)
    assert list(frames["frame"]) == [1, 2, 4] and (frames["type"] == "P").all()
    assert frames["intra"].iloc[0].startswith("pristine")


def test_conditions():
    from search.evaluation import CONDITIONS

    seq = type("S", (), {"group": "HEVC-B", "length": 600})()
    uvg = type("S", (), {"group": "UVG", "length": 600})()
    paper = Protocol.of(EvalConfig(condition="paper"))
    assert (paper.frames(seq), paper.period(seq), paper.period(uvg)) == (100, 10, 12)
    dcvc = Protocol.of(EvalConfig(condition="dcvc"))
    assert (dcvc.frames(uvg), dcvc.period(uvg)) == (96, 32) and set(CONDITIONS) == {"paper", "dcvc"}
    custom = Protocol.of(EvalConfig(gop_size=12, max_gops=2))
    assert (custom.frames(seq), custom.period(seq)) == (24, 12)
    with pytest.raises(BadInput, match="condition"):
        Protocol.of(EvalConfig(condition="ctc"))


def test_test_data_overlapping_the_training_data_is_named():
    from search.data import overlap_with_training

    assert overlap_with_training("default", "default") == ""
    clip = str(default_clips()[0])
    assert "not held out" in overlap_with_training("default", clip)
    assert "not held out" in overlap_with_training(clip, "default")
    assert "not held out" in overlap_with_training("/data/clips", "/data/clips/a.mp4")
    assert overlap_with_training("/data/train", "/data/test") == ""
