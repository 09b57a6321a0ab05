"""Shared test helpers: random layouts of a space, and the reference fixtures."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

FIXTURES = Path(__file__).parent / "fixtures"


def pytest_collection_modifyitems(config, items):
    """Tests marked ``cuda`` run only where torch sees a GPU."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU; torch sees none here")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


def random_layouts(space, count: int, seed: int = 0) -> list[dict[str, int]]:
    """``count`` random layouts of ``space`` (ties respected), the first being the full one."""
    rng = np.random.default_rng(seed)
    choices = space.random_choices(count, rng)
    choices[0] = 0
    return [space.layout_of(c) for c in choices]


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES


def smooth_images(batch: int = 1, size: int = 64, seed: int = 0, coarse: int = 8) -> torch.Tensor:
    """[batch, 3, size, size] images in [0, 1]: a bilinearly upsampled coarse random image plus a little
    noise (something an image codec can learn to code in a few steps)."""
    g = torch.Generator().manual_seed(seed)
    base = torch.nn.functional.interpolate(torch.rand(batch, 3, coarse, coarse, generator=g), size=size,
                                           mode="bilinear", align_corners=False)
    return (base + 0.05 * torch.rand(batch, 3, size, size, generator=g)).clamp(0, 1)


def load_fixture(name: str):
    return yaml.safe_load((FIXTURES / name).read_text())


def shifted_frames(batch: int = 1, seed: int = 1, size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """A random reference and the frame to code: the reference shifted 2 pixels right, plus noise."""
    g = torch.Generator().manual_seed(seed)
    ref = torch.rand(batch, 3, size, size, generator=g)
    x = (ref.roll(2, 3) + 0.02 * torch.randn(ref.shape, generator=g)).clamp(0, 1)
    return ref, x


def assert_real_bits_near_likelihoods(likelihoods: dict, strings: dict, batch: int) -> None:
    """Every latent's real bitstream (one string per frame) within 10% (or 512 bits) of ``-log2`` of its
    likelihoods, their total within 10%, and enough bits that the comparison means something."""
    from search.entropy import bits

    total_est = total_real = 0.0
    for group, names in likelihoods.items():
        for name, p in names.items():
            coded = strings[group][name]
            assert len(coded) == batch and all(isinstance(s, bytes) for s in coded)
            est, real = bits(p).item(), sum(8 * len(s) for s in coded)
            assert abs(real - est) <= max(0.1 * est, 512), (group, name, est, real)
            total_est, total_real = total_est + est, total_real + real
    assert total_est > 5000  # non-trivial latents
    assert abs(total_real - total_est) <= 0.1 * total_est, (total_est, total_real)


def assert_same_coding(a: dict, b: dict, atol: float = 1e-5) -> None:
    """Two ``forward`` outputs agree: reconstruction and every likelihood."""
    assert torch.allclose(a["x_hat"], b["x_hat"], atol=atol), (a["x_hat"] - b["x_hat"]).abs().max()
    assert a["likelihoods"].keys() == b["likelihoods"].keys()
    for part, named in b["likelihoods"].items():
        for name, lb in named.items():
            la = a["likelihoods"][part][name]
            assert torch.allclose(la, lb, atol=atol), (part, name, (la - lb).abs().max())


def sliced_and_masked(small, full, layout, ref, x) -> tuple[dict, dict]:
    """``forward`` of the sliced model and of the full model masked to the same layout (no grad)."""
    with torch.no_grad():
        sliced = small(ref, x)
        with full.at_layout(layout):
            masked = full(ref, x)
    return sliced, masked


@pytest.fixture(scope="session")
def golden_run(tmp_path_factory) -> Path:
    """The tiny fixed-seed main job of ``tests/golden.py``, run once per session (its folder)."""
    from golden import run_main_job

    out = tmp_path_factory.mktemp("golden") / "run"
    run_main_job(out)
    return out


@pytest.fixture(scope="session")
def tiny_test_set(tmp_path_factory) -> Path:
    """``test_data=`` for tiny main jobs: a PNG sequence of two 64x64 crops of a bundled clip, so that
    their evaluation codes one small P-frame per layout instead of full-size frames."""
    from PIL import Image

    from search.data import default_clips, read_video

    sequence = tmp_path_factory.mktemp("tiny_test_set") / "tiny" / "Clip"
    sequence.mkdir(parents=True)
    for i, frame in enumerate(read_video(default_clips()[0], max_frames=2)):
        Image.fromarray(frame[:64, :64]).save(sequence / f"im{i + 1:05d}.png")
    return sequence.parent

