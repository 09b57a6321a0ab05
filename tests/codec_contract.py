"""The codec contract: the invariants every registered codec keeps, written once.

Reusable checks in the manner of timm's one test file over every registered model and Optuna's
``optuna.testing`` cases: each check takes a :class:`Subject` (a codec file and its space) and
asserts one invariant. ``tests/test_codec_contract.py`` runs every check on every codec found in
:data:`CODEC_DIRS`, so a codec file dropped into one of those folders (with its space file) is tested
without a line of its own: ``tests/codecs/tiny.py`` shows it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
import torch
import torch.nn.functional as F

from search.codec import Codec, Preset, Provenance, available_codecs, load_codec
from search.complexity import Complexity, count_module, fvcore_macs, measure_profile
from search.nn.layers import load_sliced, slim_modules
from search.paths import CODEC_DIR, SPACE_DIR
from search.space import Space, load_space

from conftest import random_layouts

#: the folders whose codec files the contract walks: the project's and the tests' own
CODEC_DIRS = (CODEC_DIR, Path(__file__).parent / "codecs")


@dataclass(frozen=True)
class Subject:
    """One codec under the contract: its file's name and folder, and its space file."""

    name: str
    codec_dir: Path

    @property
    def space_file(self) -> Path:
        own = self.codec_dir / f"{self.name}.yaml"
        return own if own.is_file() else Path(SPACE_DIR) / f"{self.name}.yaml"

    def codec(self) -> type[Codec]:
        return load_codec(self.name, self.codec_dir)

    def space(self) -> Space:
        return load_space(self.space_file, codec_dir=self.codec_dir)

    def __str__(self) -> str:
        return self.name


def subjects() -> list[Subject]:
    """Every codec file of :data:`CODEC_DIRS`."""
    return [Subject(name, Path(d)) for d in CODEC_DIRS for name in available_codecs(d)]


# -- inputs --------------------------------------------------------------------------------------


def frame_size(codec: type[Codec]) -> int:
    """The smallest multiple of the codec's ``MULTIPLE`` of at least 32 pixels: tiny, and every
    latent still has a pixel."""
    return codec.MULTIPLE * math.ceil(32 / codec.MULTIPLE)


def frames(codec: type[Codec], size: int | None = None, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """What ``forward`` codes: (ref, x) for a P-frame codec (x: ref shifted 2 pixels plus noise),
    (x,) for an image codec."""
    size = size or frame_size(codec)
    g = torch.Generator().manual_seed(seed)
    ref = torch.rand(1, 3, size, size, generator=g)
    x = (ref.roll(2, 3) + 0.05 * torch.randn(ref.shape, generator=g)).clamp(0, 1)
    return (ref, x) if codec.CODES == "p-frame" else (x,)


def model(subject: Subject, layout=None) -> Codec:
    torch.manual_seed(0)
    return subject.codec()(layout).eval()


def layouts(space: Space, seed: int = 3) -> list[dict[str, int]]:
    """A random layout of the space and its smallest."""
    smallest = space.layout_of([n - 1 for n in space.group_sizes])
    return random_layouts(space, 2, seed=seed)[1:] + [smallest]


def decompressed(codec: Codec, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
    compressed = codec.compress(*inputs)
    return codec.decompress(*inputs[:-1], compressed)["x_hat"]


# -- comparing a sliced model with the masked full one ---------------------------------------------


def assert_agree(sliced: torch.Tensor, masked: torch.Tensor, rest: float | None, what: str) -> None:
    """Equal where both have channels; the masked model's extra channels hold ``rest`` (1 for
    likelihoods: no bits; None: anything, e.g. the entropy parameters of masked latent channels)."""
    c = sliced.shape[1] if sliced.dim() > 1 else None
    if sliced.shape != masked.shape:
        assert sliced.shape[:1] + sliced.shape[2:] == masked.shape[:1] + masked.shape[2:], what
        assert rest is None or (masked[:, c:] == rest).all(), what
        masked = masked[:, :c]
    torch.testing.assert_close(sliced, masked, atol=1e-5, rtol=1e-5, msg=lambda m: f"{what}: {m}")


def padded_like(inputs: dict, full: dict) -> dict:
    """The sliced model's decoder inputs zero-padded to the full model's channels."""
    out = {}
    for k, v in inputs.items():
        missing = full[k].shape[1] - v.shape[1] if v.dim() > 1 else 0
        out[k] = F.pad(v, (0, 0, 0, 0, 0, missing)) if missing > 0 else v
    return out


# -- the checks ------------------------------------------------------------------------------------


def check_provenance_and_presets(subject: Subject) -> None:
    """Where the codec comes from is data, and its presets are typed and fit its multiple."""
    codec = subject.codec()
    assert isinstance(codec.PROVENANCE, Provenance) and codec.PROVENANCE.paper, "PROVENANCE missing"
    for preset in (codec.QUICK, codec.PAPER):
        assert isinstance(preset, Preset)
        assert preset.crop is None or preset.crop % codec.MULTIPLE == 0, preset
        assert preset.batch is None or preset.batch >= 1, preset


def check_one_line_errors(subject: Subject) -> None:
    """Wrong shapes and a masked model asked to compress fail at once, in one line."""
    codec = model(subject)
    good = frames(subject.codec())
    size = good[0].shape[-1]
    wrong = [tuple(f[:, :1] for f in good), tuple(F.pad(f, (0, 1)) for f in good)]
    if len(good) == 2:
        wrong.append((good[0], good[1][..., :-codec.MULTIPLE, :]))
    for bad in wrong:
        for method in (codec.forward, codec.compress):
            with pytest.raises(ValueError) as err:
                method(*bad)
            message = str(err.value)
            assert "\n" not in message, message
            assert "[B,3,H,W]" in message or f"multiple of {codec.MULTIPLE}" in message, message
    with codec.at_layout(codec.full_layout()), pytest.raises(RuntimeError) as err:
        codec.compress(*good)
    assert "\n" not in str(err.value)
    assert codec.padded_size(size + 1, size) == (size + codec.MULTIPLE, size)


def check_padding_to_multiple(subject: Subject) -> None:
    """``padded_size`` is the next multiple of ``MULTIPLE``, and a frame padded to it codes at its
    size."""
    codec = model(subject)
    m = codec.MULTIPLE
    for h, w in ((1, 1), (m, m + 1), (3 * m - 1, 2 * m)):
        ph, pw = codec.padded_size(h, w)
        assert ph % m == pw % m == 0 and 0 <= ph - h < m and 0 <= pw - w < m
    size = frame_size(type(codec))
    odd = tuple(f[..., :size - 3, :size - 5] for f in frames(type(codec)))
    ph, pw = codec.padded_size(size - 3, size - 5)
    padded = tuple(F.pad(f, (0, pw - f.shape[-1], 0, ph - f.shape[-2]), mode="replicate") for f in odd)
    with torch.no_grad():
        assert codec(*padded)["x_hat"].shape == padded[-1].shape


def check_sliced_equals_masked(subject: Subject) -> None:
    """A codec built at a layout (weights sliced from the full one) equals the full codec masked to
    it: the decoder side on random inputs, and the whole codec's reconstruction and likelihoods."""
    space, full = subject.space(), model(subject)
    inputs = frames(type(full))
    size = inputs[0].shape[-1]
    g = torch.Generator().manual_seed(1)
    for layout in layouts(space):
        small = load_sliced(model(subject, layout), full)
        dec = small.decoder_inputs(size, size, generator=g)
        with torch.no_grad():
            a, fa = small.decode(**dec), small(*inputs)
            with full.at_layout(layout):
                b = full.decode(**padded_like(dec, full.decoder_inputs(size, size)))
                fb = full(*inputs)
        assert a.keys() == b.keys()
        for k in a:
            assert_agree(a[k], b[k], None, f"decode {k} at {layout}")
        assert_agree(fa["x_hat"], fb["x_hat"], 0.0, "forward x_hat")
        assert fa["likelihoods"].keys() == fb["likelihoods"].keys()
        for part, named in fa["likelihoods"].items():
            for name, p in named.items():
                assert_agree(p, fb["likelihoods"][part][name], 1.0, f"likelihood {part}.{name}")


def check_decompress_equals_forward(subject: Subject) -> None:
    """Real bitstreams decode to the forward pass's reconstruction (eval mode), at the full layout
    and at the smallest."""
    space, full = subject.space(), model(subject)
    inputs = frames(type(full), seed=2)
    for codec in (full, load_sliced(model(subject, layouts(space)[-1]), full)):
        with torch.no_grad():
            expected = codec(*inputs)["x_hat"]
        got = decompressed(codec, inputs)
        torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)


def check_state_dict_round_trip(subject: Subject) -> None:
    """A state dict loads strictly into a fresh codec of the same layout, which then codes alike:
    at full width and sliced."""
    space, full = subject.space(), model(subject)
    inputs = frames(type(full), seed=3)
    small = load_sliced(model(subject, layouts(space)[0]), full)
    for codec in (full, small):
        torch.manual_seed(1)
        fresh = type(codec)(codec.layout).eval()
        fresh.load_state_dict(codec.state_dict(), strict=True)
        with torch.no_grad():
            torch.testing.assert_close(fresh(*inputs)["x_hat"], codec(*inputs)["x_hat"])


def check_training_forward(subject: Subject) -> None:
    """In training mode, at full width and at the smallest layout: a reconstruction of the frame's
    shape, likelihoods in (0, 1], and a finite gradient of the RD loss on the decoder side."""
    space = subject.space()
    full = model(subject)
    inputs = frames(type(full), seed=4)
    for codec in (full, load_sliced(model(subject, layouts(space)[-1]), full)):
        codec.train()
        out = codec(*inputs)
        assert out["x_hat"].shape == inputs[-1].shape
        rate = 0
        for part, named in out["likelihoods"].items():
            for name, p in named.items():
                assert torch.isfinite(p).all() and (p > 0).all() and (p <= 1).all(), (part, name)
                rate = rate - torch.log2(p).sum()
        loss = rate / inputs[-1][:, 0].numel() + 256 * F.mse_loss(out["x_hat"], inputs[-1])
        loss.backward()
        grads = [p.grad for _, m in slim_modules(codec) for p in m.parameters() if p.grad is not None]
        assert grads and all(torch.isfinite(g).all() for g in grads)
        assert any(g.abs().sum() > 0 for g in grads)


def check_closed_form_equals_fvcore(subject: Subject) -> None:
    """The closed form the search uses counts fvcore's MACs of the decoder built at the layout."""
    space = subject.space()
    size = (frame_size(space.codec), frame_size(space.codec))
    complexity = Complexity(measure_profile(space, size), space)
    for layout in random_layouts(space, 4, seed=7)[1:] + layouts(space)[-1:]:
        measured = fvcore_macs(space, layout, size)
        assert complexity.module_macs(layout) == measured
        assert complexity.macs(layout) == sum(measured[m.name] for m in space.decoder_modules)


def check_export_parts(subject: Subject) -> None:
    """The exportable parts (``search.export``) of the full and of the smallest sliced codec: each
    part's fvcore MACs equal the closed form of its modules, together the decoder's; outputs named as
    ``decode``'s equal them on the same inputs; the frame itself is among them."""
    space, full = subject.space(), model(subject)
    size = frame_size(space.codec)
    complexity = Complexity(measure_profile(space, (size, size)), space)
    for codec in (full, load_sliced(model(subject, layouts(space)[-1]), full)):
        parts = codec.export_parts(size, size, generator=torch.Generator().manual_seed(5))
        with torch.no_grad():
            decoded = codec.decode(**codec.decoder_inputs(size, size,
                                                          generator=torch.Generator().manual_seed(5)))
        total, named = 0, set()
        for part in parts:
            macs = count_module(part.module, tuple(part.inputs.values())).total
            assert macs == complexity.submodule_macs(codec.layout, part.submodules), part.name
            total += macs
            for name, value in zip(part.outputs, part.run()):
                if name in decoded:
                    named.add(name)
                    torch.testing.assert_close(value, decoded[name], atol=1e-5, rtol=1e-5,
                                               msg=f"part {part.name} output {name}")
        assert total == complexity.macs(codec.layout)
        assert "x_hat" in named and len({p.name for p in parts}) == len(parts)


CHECKS: dict[str, Callable[[Subject], None]] = {
    name[len("check_"):]: fn for name, fn in globals().items() if name.startswith("check_")}
