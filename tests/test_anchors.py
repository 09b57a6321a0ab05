"""``python -m search.anchors``: classical codecs on tiny test sets, tables that search.compare reads."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from search.commands.anchors import main
from search.commands.compare import main as compare


def photo(size=(64, 64), shift: int = 0) -> np.ndarray:
    """A 64x64 crop of a natural photograph (scikit-image's bundled astronaut), moved by ``shift``."""
    skimage = pytest.importorskip("skimage.data")
    image = skimage.astronaut()
    return image[100:100 + size[1], 180 + shift:180 + shift + size[0]]


def image_set(folder) -> str:
    for name, shift in (("a", 0), ("b", 40)):
        (folder / name).mkdir(parents=True)
        Image.fromarray(photo(shift=shift)).save(folder / name / "im1.png")
    return str(folder)


def clip(folder, frames: int = 4) -> str:
    """A tiny moving clip: a PNG folder of 64x48 frames panning over the photograph."""
    folder.mkdir(parents=True)
    for k in range(frames):
        Image.fromarray(photo((64, 48), shift=2 * k)).save(folder / f"im{k + 1}.png")
    return str(folder)


@pytest.mark.parametrize("codec", ["jpeg", "webp", "avif"])
def test_image_anchor_rises_with_quality_and_compares(tmp_path, codec, capsys):
    data = image_set(tmp_path / "images")
    assert main([f"codec={codec}", f"data={data}", "quality=[20,80]", f"out={tmp_path / codec}"]) == 0
    frames = pd.read_csv(tmp_path / codec / "frames.csv")
    assert set(frames["type"]) == {"image"} and len(frames) == 4 and (frames["bpp"] > 0).all()
    seqs = pd.read_csv(tmp_path / codec / "sequences.csv").pivot(index="sequence", columns="quality",
                                                                  values="psnr")
    assert (seqs[80] > seqs[20] + 1).all()
    assert pd.read_csv(tmp_path / codec / "classes.csv")["sequences"].eq(2).all()
    if codec == "jpeg":  # the tables are an anchor for search.compare
        other = tmp_path / "jpeg-lo"
        main(["codec=jpeg", f"data={data}", "quality=[15,70]", f"out={other}"])
        assert compare([str(tmp_path / codec), str(other), f"out={tmp_path / 'bd'}",
                        "resamples=200"]) == 0
        bd = pd.read_csv(tmp_path / "bd" / "bd.csv")
        overall = bd[(bd["metric"] == "psnr") & (bd["class"] == "(mean over classes)")].iloc[0]
        assert overall["units"] == "2 sequences"
        assert overall["bd_rate_low"] <= overall["bd_rate"] <= overall["bd_rate_high"]


@pytest.mark.parametrize("codec", ["x264", "x265", "svtav1"])
def test_video_anchor_is_ippp_with_real_bits(tmp_path, codec):
    data = clip(tmp_path / "clip")
    low, high = (22, 40) if codec != "svtav1" else (25, 55)
    assert main([f"codec={codec}", f"data={data}", f"quality=[{low},{high}]", "gop_size=2",
                 "speed=ultrafast" if codec != "svtav1" else "speed=12", "yuv_psnr=true",
                 f"out={tmp_path / codec}"]) == 0
    frames = pd.read_csv(tmp_path / codec / "frames.csv")
    assert frames.groupby("quality")["type"].apply("".join).eq("IPIP").all()
    assert (frames["bpp"] > 0).all() and (frames.loc[frames["type"] == "I", "bpp_i"] > 0).all()
    psnr = frames.groupby("quality")[["psnr", "psnr_y"]].mean()
    assert (psnr.loc[low] > psnr.loc[high] + 1).all()  # lower CRF: higher quality
    assert frames.groupby("quality")["bpp"].mean()[low] > frames.groupby("quality")["bpp"].mean()[high]
    assert psnr.loc[low, "psnr"] > 25  # a real codec at a low CRF


@pytest.mark.parametrize("args, words", [(["codec=mpeg1"], "expected one of jpeg"),
                                         (["codec=jpeg", "quality=[500]"], "integers 0..100"),
                                         (["codec=x264", "data=/nonexistent/clip.yuv"], "nonexistent")])
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, args, words):
    with pytest.raises(SystemExit) as exit_:
        main(args + [f"out={tmp_path / 'out'}"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0]
    assert not (tmp_path / "out").exists()
