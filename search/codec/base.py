"""The base class every codec file (``codecs/<name>.py``) derives from."""
from __future__ import annotations

import functools
import inspect
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Mapping, Sequence

import torch
import torch.nn as nn

from ..nn.widths import Layer, Widths
from .contract import Preset, Provenance
from .parts import ExportPart, make_part


class Codec(nn.Module):
    """A learned codec built from a width layout (the full layout when none is given).

    A codec codes either P-frames (``CODES = "p-frame"``: :meth:`forward` takes a reference and a
    frame) or images (``CODES = "image"``: ``forward(x)``, ``compress(x)``, ``decompress(compressed)``,
    likelihoods under the part ``"image"``). Subclasses set:

    * ``LAYERS``: every layer of the structure table, in report order (:class:`~search.nn.widths.Layer`).
    * ``TIES``: groups of layer keys whose widths the structure forces to be equal (both sides of a
      residual addition), each with the reason; a space must tie at least these.
    * ``MULTIPLE``: the frame size must be a multiple of this (inputs are padded to it).

    and implement :meth:`decoder_inputs` (example inputs of the decoder side at a padded size) and
    :meth:`decode` (the decoder side: every module whose cost counts as decoding, returning a dict).

    and may set ``QUICK`` / ``PAPER`` (:class:`~search.codec.contract.Preset`, or a dict of its keys) and
    should set ``PROVENANCE`` (:class:`~search.codec.contract.Provenance`).

    The contract every codec keeps is checked here once, not in each codec: ``forward`` and
    ``compress`` take frames ``[B,3,H,W]`` of one shape whose size is a multiple of ``MULTIPLE``
    (:meth:`check_frames`), and ``compress`` / ``decompress`` code the model as built, never a masked
    full-width one (:meth:`check_unmasked`). ``tests/test_codec_contract.py`` checks the rest of the
    contract for every registered codec.
    """

    CODES: str = "p-frame"
    LAYERS: Sequence[Layer] = ()
    TIES: Sequence[tuple[tuple[str, ...], str]] = ()
    MULTIPLE: int = 64
    #: which numbers an ``R`` row prints: DVC/FVC's tables write R(hidden), DCVC's R(trunk, hidden).
    RESIDUAL_NOTATION: tuple[str, ...] = ("hidden",)
    QUICK: Preset = Preset()
    PAPER: Preset = Preset()
    PROVENANCE: Provenance | None = None

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        for name in ("QUICK", "PAPER"):
            setattr(cls, name, Preset.of(getattr(cls, name), where=f"{cls.__name__}.{name}"))
        frames = 2 if cls.CODES == "p-frame" else 1
        for name, count, unmasked in (("forward", frames, False), ("compress", frames, True),
                                      ("decompress", frames - 1, True)):
            if name in cls.__dict__:
                setattr(cls, name, _checked(cls.__dict__[name], count, unmasked))

    def check_frames(self, *frames: torch.Tensor, names: Sequence[str] = ()) -> None:
        """One-line ValueError unless every frame is [B,3,H,W], all of one shape, at a multiple of
        ``MULTIPLE`` (:meth:`padded_size` gives the size to pad to)."""
        shapes = [tuple(f.shape) for f in frames]
        both = len(frames) > 1
        named = " and ".join(names) if names else ("ref and x" if both else "x")
        if any(len(s) != 4 or s[1] != 3 for s in shapes) or len(set(shapes)) > 1:
            raise ValueError(f"{named} must {'both ' if both else ''}be [B,3,H,W]"
                             f"{' of one shape' if both else ''}; got {', '.join(map(str, shapes))}")
        if shapes and (shapes[0][2] % self.MULTIPLE or shapes[0][3] % self.MULTIPLE):
            raise ValueError(f"frame size {shapes[0][2:]} is not a multiple of {self.MULTIPLE}: "
                             f"pad it first (padded_size)")

    def check_unmasked(self) -> None:
        """compress/decompress code the model as built: a masked full-width model would write the
        masked channels' symbols too."""
        if self.widths.mix.choices is not None:
            raise RuntimeError("compress/decompress code the model as built: build (slice) the codec "
                               "at the layout instead of masking the full-width one")

    def __init__(self, layout: Mapping[str, int] | None = None):
        super().__init__()
        self.widths = Widths(self.LAYERS, layout)

    @classmethod
    def residual_notation_indices(cls) -> list[int]:
        """Indices into an R row's recorded numbers (trunk, hidden)."""
        return [("trunk", "hidden").index(n) for n in cls.RESIDUAL_NOTATION]

    @classmethod
    def residual_legend(cls) -> str:
        if cls.RESIDUAL_NOTATION == ("hidden",):
            return ("R(c) residual block whose convolutions have c hidden channels (its input and "
                    "output width is that of the layer before it)")
        return (f"R({','.join(n[0] for n in cls.RESIDUAL_NOTATION)}) residual block, "
                + ", ".join(f"{n[0]} = {n} width" for n in cls.RESIDUAL_NOTATION)
                + " (trunk: input and output, tied by the skip; hidden: between its convolutions)")

    @property
    def layout(self) -> dict[str, int]:
        return dict(self.widths.layout)

    @classmethod
    def full_layout(cls) -> dict[str, int]:
        return {layer.key: layer.full for layer in cls.LAYERS}

    @classmethod
    def padded_size(cls, height: int, width: int) -> tuple[int, int]:
        m = cls.MULTIPLE
        return -(-height // m) * m, -(-width // m) * m

    # -- the whole codec: one P-frame against a reference ------------------------------------------

    def forward(self, ref: torch.Tensor, x: torch.Tensor) -> dict:
        """Code ``x`` against the reference ``ref`` (both [B,3,H,W] in [0,1], H and W multiples of
        ``MULTIPLE``). Returns ``{"x_hat": [B,3,H,W] (unclamped), "likelihoods": {"motion": {name:
        tensor}, "residual": {name: tensor}}}``: rates are ``-log2`` of the likelihoods. Latents are
        quantised with uniform noise in training mode and rounded in eval mode; the decoder side runs
        through :meth:`decode` either way."""
        raise NotImplementedError

    @torch.no_grad()
    def compress(self, ref: torch.Tensor, x: torch.Tensor) -> dict:
        """Real bitstreams through CompressAI's coders: ``{"strings": {"motion": {name: [bytes]},
        "residual": {name: [bytes]}}, ...}`` plus what :meth:`decompress` needs (shapes)."""
        raise NotImplementedError

    @torch.no_grad()
    def decompress(self, ref: torch.Tensor, compressed: dict) -> dict:
        """``{"x_hat": ...}`` from :meth:`compress`'s output; equals ``forward``'s in eval mode."""
        raise NotImplementedError

    def decoder_inputs(self, height: int, width: int, batch: int = 1,
                       generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def decode(self, **inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def export_parts(self, height: int, width: int, batch: int = 1,
                     generator: torch.Generator | None = None) -> list[ExportPart]:
        """The decoder side of this codec, as built, in exportable parts with example inputs at a
        padded ``height x width`` (``python -m search.export``). Together the parts do every MAC of
        :meth:`decode`. By default one part, the whole of :meth:`decode`; a codec file overrides
        this to split it (motion, frame decoder, hyper decoders) and to keep in PyTorch what runs
        inside entropy decoding (:class:`~search.codec.parts.ExportPart`)."""
        inputs = self.decoder_inputs(height, width, batch, generator)
        names = list(inputs)
        outputs = list(self.decode(**inputs))

        def step(part, *tensors):
            return type(self).decode(part, **dict(zip(names, tensors)))
        modules = [name for name, _ in self.named_children()]
        return [make_part(self, "decoder", step, modules, inputs, outputs, "the whole decoder side")]

    # -- supernet masks ---------------------------------------------------------------------------

    def set_choices(self, choices: Mapping[str, tuple[torch.Tensor, Sequence[int]]] | None) -> None:
        """Mask channels: per layer key, mixing weights over candidate widths (None: no masks)."""
        if choices is None:
            self.widths.mix.set(None)
            return
        self.widths.mix.set({k: (w, tuple(int(o) for o in opts)) for k, (w, opts) in choices.items()})

    @contextmanager
    def at_layout(self, layout: Mapping[str, int]) -> Iterator["Codec"]:
        """``with full.at_layout(layout): full(ref, x)`` runs this full-width model masked to ``layout``."""
        self.set_layout_masks(layout)
        try:
            yield self
        finally:
            self.set_layout_masks(None)

    def set_layout_masks(self, layout: Mapping[str, int] | None) -> None:
        """Run this full-width model as if it were built at ``layout`` (hard masks)."""
        if layout is None:
            self.set_choices(None)
            return
        one = torch.ones(1)
        self.set_choices({k: (one, (int(w),)) for k, w in layout.items()})


def _checked(method: Callable, frames: int, unmasked: bool) -> Callable:
    """``method`` preceded by the contract's input checks on its first ``frames`` tensor arguments."""
    names = list(inspect.signature(method).parameters)[1:1 + frames]

    @functools.wraps(method)
    def run(self: Codec, *args: Any, **kwargs: Any):
        given = list(args[:frames]) + [kwargs[n] for n in names[len(args):] if n in kwargs]
        if given:
            self.check_frames(*given, names=names[:len(given)])
        if unmasked:
            self.check_unmasked()
        return method(self, *args, **kwargs)

    return run


class DecoderView(nn.Module):
    """The decoder side of a codec as a module with positional inputs, for fvcore's tracer."""

    def __init__(self, codec: Codec, names: Sequence[str]):
        super().__init__()
        self.codec, self.names = codec, tuple(names)

    def forward(self, *tensors: torch.Tensor):
        out = self.codec.decode(**dict(zip(self.names, tensors)))
        return tuple(out.values())
