"""Data at dataset scale: the Vimeo-90k septuplet layout read from its list files, each sample's frames
read from disk when it is drawn (nothing of the set kept in memory), and the DataLoader of each
training step, whose batches are the same whatever the worker count or the number of processes."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from search.commands import train as train_cli
from search.data import (Clips, Septuplets, StepSampler, TrainPairs, rank_indices, step_loader,
                         training_frames)
from search.errors import BadInput

TRAIN = ["00001/0001", "00001/0002", "00002/0001"]
TEST = ["00002/0002"]


def smooth_frame(seq: int, frame: int, height: int, width: int) -> np.ndarray:
    """A smooth gradient that moves with the frame number (sequence and frame in pixel (0, 0))."""
    y, x = np.mgrid[0:height, 0:width]
    img = np.stack([(x * 3 + frame * 4 + seq * 20) % 256, (y * 3 + frame * 2) % 256,
                    ((x + y) * 2 + seq * 7) % 256], -1).astype(np.uint8)
    img[0, 0] = (seq, frame, 0)
    return img


def write_septuplets(root: Path, train=TRAIN, test=TEST, height: int = 64, width: int = 96) -> Path:
    from PIL import Image

    for seq, name in enumerate(train + test):
        folder = root / "sequences" / name
        folder.mkdir(parents=True)
        for frame in range(7):
            Image.fromarray(smooth_frame(seq, frame, height, width)).save(folder / f"im{frame + 1}.png")
    (root / "sep_trainlist.txt").write_text("\n".join(train) + "\n")
    (root / "sep_testlist.txt").write_text("\n".join(test) + "\n\n")
    return root


@pytest.fixture(scope="module")
def vimeo(tmp_path_factory) -> Path:
    return write_septuplets(tmp_path_factory.mktemp("vimeo_septuplet"))


def test_the_list_files_name_the_sequences(vimeo):
    train, test = Septuplets(vimeo), Septuplets(vimeo, "test")
    assert len(train) == 3 and train.names == TRAIN and test.names == TEST
    assert train.shape(2) == (7, 64, 96) and train.path(1) == vimeo / "sequences" / "00001" / "0002"
    frames = train.frames(1, 2, 3)
    assert frames.shape == (3, 64, 96, 3) and frames.dtype == np.uint8
    assert [tuple(f[0, 0, :2]) for f in frames] == [(1, 2), (1, 3), (1, 4)]
    assert isinstance(training_frames(str(vimeo)), Septuplets)  # a folder with sep_trainlist.txt
    assert isinstance(training_frames(str(vimeo / "sequences" / "00001")), Clips)  # any other folder
    # evaluation and validation (clips) take the held-out list, never a training sequence
    assert Clips(vimeo).names == TEST and Clips(vimeo).path(0) == vimeo / "sequences" / TEST[0]


def test_bad_septuplet_folders(vimeo, tmp_path):
    with pytest.raises(BadInput, match="sep_trainlist.txt"):
        Septuplets(tmp_path)
    (tmp_path / "sep_trainlist.txt").write_text("\n\n")
    with pytest.raises(BadInput, match="lists no sequences"):
        Septuplets(tmp_path)
    broken = write_septuplets(tmp_path / "broken")
    (broken / "sequences" / TRAIN[1] / "im5.png").unlink()
    with pytest.raises(BadInput, match=r"im5\.png: missing"):
        Septuplets(broken).frames(1, 3, 3)
    from PIL import Image

    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(broken / "sequences" / TRAIN[2] / "im1.png")
    with pytest.raises(BadInput, match="32x32"):
        Septuplets(broken).frames(2, 0, 2)


def test_samples_are_read_from_disk_when_drawn(vimeo, tmp_path):
    """A sample is the crop of the frames on disk, read when the sample is drawn (change a frame and
    the same sample changes): nothing is cached."""
    from PIL import Image

    root = write_septuplets(tmp_path / "set")
    pairs = TrainPairs(Septuplets(root), crop=32, gop=2, samples_per_epoch=8, seed=3)
    loc = pairs.locate(5)
    sample = pairs[5]
    folder = root / "sequences" / TRAIN[loc["clip"]]
    frames = np.stack([np.asarray(Image.open(folder / f"im{loc['start'] + k + 1}.png")) for k in (0, 1)])
    crop = frames[:, loc["y"]:loc["y"] + 32, loc["x"]:loc["x"] + 32]
    crop = crop[:, :, ::-1] if loc["hflip"] else crop
    crop = crop[:, ::-1] if loc["vflip"] else crop
    torch.testing.assert_close(sample, torch.from_numpy(crop.copy()).permute(0, 3, 1, 2).float() / 255)
    Image.fromarray(np.full((64, 96, 3), 200, np.uint8)).save(folder / f"im{loc['start'] + 1}.png")
    assert torch.allclose(pairs[5][0], torch.full((3, 32, 32), 200 / 255))


def test_batches_are_the_same_whatever_the_workers_and_processes(vimeo):
    pairs = TrainPairs(Septuplets(vimeo), crop=32, gop=3, samples_per_epoch=6 * 4, seed=1)

    def batches(workers: int, rank: int = 0, world: int = 1, start: int = 0) -> list[torch.Tensor]:
        return list(step_loader(pairs, StepSampler(4, 6, start, rank, world), workers))

    alone = batches(0)
    assert len(alone) == 6 and alone[0].shape == (4, 3, 3, 32, 32)
    assert all(torch.equal(a, b) for a, b in zip(alone, batches(2)))
    halves = zip(batches(0, 0, 2), batches(2, 1, 2))
    assert all(torch.equal(a, torch.cat([h0, h1])) for a, (h0, h1) in zip(alone, halves))
    assert all(torch.equal(a, b) for a, b in zip(alone[4:], batches(2, start=4)))  # a resume
    assert rank_indices(3, 4, 1, 2) == [14, 15]
    with pytest.raises(BadInput, match="batch=4 does not split over 3"):
        StepSampler(4, 6, world=3)


def test_lazily_read_sequences_without_cache_read_only_the_frames_asked(vimeo):
    clips = Clips(vimeo / "sequences", cache=False)
    assert [tuple(f[0, 0, :2]) for f in clips.frames(0, 4, 2)] == [(0, 4), (0, 5)]
    assert clips._clips[0].data is None


def _log(folder: Path) -> list[dict[str, str]]:
    with (folder / "log.csv").open() as f:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]


def test_training_on_septuplets_is_the_same_with_workers(vimeo, tmp_path):
    args = ["space=dcvc", "crop=64", "batch=1", "steps=2", "threads=2", "seed=0", f"data={vimeo}",
            "intra=pristine"]
    train_cli.main([*args, "data_workers=0", f"out={tmp_path / 'in_process'}"])
    train_cli.main([*args, "data_workers=2", f"out={tmp_path / 'workers'}"])
    assert _log(tmp_path / "in_process") == _log(tmp_path / "workers")
    assert len(_log(tmp_path / "workers")) == 2
