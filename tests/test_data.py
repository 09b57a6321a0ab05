"""search.data: the default clips, user folders (Vimeo-90k layout, video files), training crops,
evaluation GOPs, padding, and the errors a user sees."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from search.data import (Clips, TrainPairs, crop_back, default_clips, find_sequences,
                         frames_to_tensor, make_loader, pad_to_multiple, read_sequence, read_video)
from search.errors import BadInput


# ----------------------------------------------------------------------------- helpers

def write_video(path: Path, frames: int = 8, height: int = 64, width: int = 64, seed: int = 0) -> Path:
    """A small real video written with PyAV (mpeg4, or libx264 when mpeg4 is missing)."""
    import av

    codec = "mpeg4" if "mpeg4" in av.codecs_available else "libx264"
    rng = np.random.default_rng(seed)
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        base = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        for i in range(frames):
            img = np.roll(base, i, axis=1)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def write_vimeo(root: Path, seqs=(("00001", "0001"), ("00001", "0002")), frames: int = 7,
                height: int = 24, width: int = 40) -> Path:
    """A tiny Vimeo-90k tree: root/sequences/<a>/<b>/im1.png .. im<frames>.png."""
    from PIL import Image

    rng = np.random.default_rng(1)
    for a, b in seqs:
        d = root / "sequences" / a / b
        d.mkdir(parents=True)
        for i in range(1, frames + 1):
            img = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
            img[0, 0] = i  # frame number in a pixel, to check ordering
            Image.fromarray(img).save(d / f"im{i}.png")
    return root


@pytest.fixture(scope="module")
def small_clips() -> Clips:
    """The default clips, first 6 frames each (decoding all of bikes takes ~1 s and 130 MB)."""
    return Clips("default", max_frames=6)


# ----------------------------------------------------------------------------- default clips

def test_default_clips_exist_and_decode():
    paths = default_clips()
    assert [p.name for p in paths] == ["bikes.mp4", "carphone_pristine.mp4"]
    for p, (h, w) in zip(paths, [(272, 640), (144, 176)]):
        assert p.is_file()
        arr = read_video(p, max_frames=3)
        assert arr.shape == (3, h, w, 3) and arr.dtype == np.uint8
        assert arr.std() > 1  # real content, not a blank frame


def test_default_spec(small_clips):
    assert small_clips.names == ["bikes", "carphone_pristine"]
    assert small_clips.shape(0) == (6, 272, 640)
    assert small_clips.shape(1) == (6, 144, 176)
    assert small_clips[1].shape == (6, 144, 176, 3)
    assert small_clips.names == ["bikes", "carphone_pristine"]


def test_read_video_stride(small_clips):
    p = default_clips()[1]
    every2 = read_video(p, max_frames=3, stride=2)
    np.testing.assert_array_equal(every2, small_clips[1][0:6:2])


# ----------------------------------------------------------------------------- training crops

def test_crops_shape_and_range(small_clips):
    ds = TrainPairs(small_clips, crop=(48, 64), samples_per_epoch=10, seed=3)
    assert len(ds) == 10
    for i in range(len(ds)):
        x = ds[i]
        assert x.shape == (2, 3, 48, 64) and x.dtype == torch.float32
        assert 0.0 <= x.min() and x.max() <= 1.0


def test_same_seed_same_samples_different_seed_differs(small_clips):
    a = TrainPairs(small_clips, crop=32, samples_per_epoch=8, seed=7)
    b = TrainPairs(small_clips, crop=32, samples_per_epoch=8, seed=7)
    c = TrainPairs(small_clips, crop=32, samples_per_epoch=8, seed=8)
    # same seed, any order -> same samples
    for i in reversed(range(8)):
        assert torch.equal(a[i], b[i])
    assert any(not torch.equal(a[i], c[i]) for i in range(8))


def test_flips_happen_and_match_the_source(small_clips):
    ds = TrainPairs(small_clips, crop=32, samples_per_epoch=64, seed=0)
    locs = [ds.locate(i) for i in range(64)]
    assert any(l["hflip"] for l in locs) and any(not l["hflip"] for l in locs)
    assert any(l["vflip"] for l in locs) and any(not l["vflip"] for l in locs)
    for i, loc in enumerate(locs[:16]):
        src = small_clips[loc["clip"]][loc["start"]:loc["start"] + 2, loc["y"]:loc["y"] + 32,
                                       loc["x"]:loc["x"] + 32]
        ref = frames_to_tensor(src)
        if loc["hflip"]:
            ref = ref.flip(-1)
        if loc["vflip"]:
            ref = ref.flip(-2)
        assert torch.equal(ds[i], ref)
    noflip = TrainPairs(small_clips, crop=32, samples_per_epoch=32, hflip=False, vflip=False)
    assert not any(noflip.locate(i)["hflip"] or noflip.locate(i)["vflip"] for i in range(32))


def test_gop_longer_than_two(small_clips):
    ds = TrainPairs(small_clips, crop=16, gop=5, samples_per_epoch=6, seed=1)
    for i in range(6):
        x = ds[i]
        assert x.shape == (5, 3, 16, 16)
        assert ds.locate(i)["start"] + 5 <= 6


def test_loader_batches_and_is_seeded(small_clips):
    ds = TrainPairs(small_clips, crop=16, samples_per_epoch=12, seed=0)
    b1 = [x for x in make_loader(ds, batch_size=4, seed=5)]
    b2 = [x for x in make_loader(ds, batch_size=4, seed=5)]
    assert len(b1) == 3 and b1[0].shape == (4, 2, 3, 16, 16)
    assert all(torch.equal(x, y) for x, y in zip(b1, b2))


# ----------------------------------------------------------------------------- user data

def test_vimeo_folder_loads(tmp_path):
    root = write_vimeo(tmp_path / "vimeo")
    clips = Clips(str(root))
    assert clips.names == ["00001/0001", "00001/0002"]
    assert clips.shape(0) == (7, 24, 40)
    arr = clips[0]
    assert arr.shape == (7, 24, 40, 3) and arr.dtype == np.uint8
    assert list(arr[:, 0, 0, 0]) == list(range(1, 8))  # im1 .. im7 in order
    # the sequences folder itself, and one sequence read alone, give the same
    assert Clips(root / "sequences").names == clips.names
    np.testing.assert_array_equal(read_sequence(root / "sequences" / "00001" / "0002"), clips[1])
    ds = TrainPairs(clips, crop=16, samples_per_epoch=4)
    assert ds[0].shape == (2, 3, 16, 16)


def test_vimeo_numeric_order(tmp_path):
    from PIL import Image

    d = tmp_path / "seq"
    d.mkdir()
    for i in range(1, 12):  # im10.png must come after im9.png
        img = np.zeros((8, 8, 3), np.uint8)
        img[0, 0] = i
        Image.fromarray(img).save(d / f"im{i}.png")
    assert find_sequences(d) == [d]
    assert list(Clips(d)[0][:, 0, 0, 0]) == list(range(1, 12))


def test_video_folder_loads(tmp_path):
    folder = tmp_path / "videos"
    folder.mkdir()
    write_video(folder / "a.mp4", frames=8)
    write_video(folder / "b.mkv", frames=5, height=48, width=80)
    (folder / "notes.txt").write_text("not a video")
    clips = Clips(folder)
    assert clips.names == ["a", "b"]
    assert clips[0].shape == (8, 64, 64, 3) and clips[1].shape == (5, 48, 80, 3)
    single = Clips(folder / "a.mp4", max_frames=4)
    assert single[0].shape == (4, 64, 64, 3)
    ds = TrainPairs(clips, crop=32, gop=4, samples_per_epoch=3)
    assert ds[2].shape == (4, 3, 32, 32)


# ----------------------------------------------------------------------------- errors

def test_error_missing_path(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(BadInput, match="nope"):
        Clips(str(missing))
    with pytest.raises(BadInput, match="nope.mp4"):
        read_video(tmp_path / "nope.mp4")


def test_error_corrupt_video(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(BadInput, match="broken.mp4") as err:
        read_video(bad)
    assert "\n" not in str(err.value)
    folder = tmp_path / "f"
    folder.mkdir()
    write_video(folder / "good.mp4")
    (folder / "zbroken.mp4").write_bytes(bad.read_bytes())
    with pytest.raises(BadInput, match="zbroken.mp4"):
        Clips(folder)


def test_error_empty_folder(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BadInput, match="empty"):
        Clips(empty)


def test_error_clip_smaller_than_crop(small_clips):
    with pytest.raises(BadInput, match=r"carphone_pristine\.mp4.*144x176.*160x160"):
        TrainPairs(small_clips, crop=160)
    ds = TrainPairs(small_clips, crop=160, skip_small=True, samples_per_epoch=4)
    assert all(ds.locate(i)["clip"] == 0 for i in range(4))


def test_error_too_short_clip(tmp_path):
    path = write_video(tmp_path / "short.mp4", frames=3)
    with pytest.raises(BadInput, match=r"short\.mp4.*3 frames.*5"):
        TrainPairs(Clips(path), crop=16, gop=5)


def test_error_corrupt_or_missing_png(tmp_path):
    root = write_vimeo(tmp_path / "v", seqs=(("1", "1"),), frames=3)
    (root / "sequences/1/1/im2.png").write_bytes(b"garbage")
    clips = Clips(root)
    with pytest.raises(BadInput, match="im2.png"):
        clips[0]
    (root / "sequences/1/1/im2.png").unlink()
    with pytest.raises(BadInput, match="im2.png"):
        Clips(root)


# ----------------------------------------------------------------------------- padding

def test_pad_replicates_right_bottom():
    x = torch.arange(6, dtype=torch.float32).reshape(1, 1, 2, 3)
    p, size = pad_to_multiple(x, (4, 4))
    assert size == (2, 3) and p.shape == (1, 1, 4, 4)
    assert torch.equal(p[..., :2, :3], x)
    assert torch.equal(p[0, 0, :, 3], torch.tensor([2.0, 5.0, 5.0, 5.0]))
    assert torch.equal(p[0, 0, 3], torch.tensor([3.0, 4.0, 5.0, 5.0]))
    u8 = torch.randint(0, 256, (5, 7, 3), dtype=torch.uint8).movedim(-1, 0)
    pu, s = pad_to_multiple(u8, 8)
    assert pu.dtype == torch.uint8 and pu.shape == (3, 8, 8) and torch.equal(crop_back(pu, s), u8)


@settings(max_examples=60, deadline=None)
@given(lead=st.lists(st.integers(1, 3), min_size=0, max_size=3), h=st.integers(1, 40),
       w=st.integers(1, 40), mh=st.integers(1, 17), mw=st.integers(1, 17))
def test_pad_then_crop_is_identity(lead, h, w, mh, mw):
    x = torch.rand(*lead, h, w)
    padded, size = pad_to_multiple(x, (mh, mw))
    assert size == (h, w)
    assert padded.shape[:-2] == x.shape[:-2]
    assert padded.shape[-2] % mh == 0 and padded.shape[-1] % mw == 0
    assert 0 <= padded.shape[-2] - h < mh and 0 <= padded.shape[-1] - w < mw
    assert torch.equal(crop_back(padded, size), x)
