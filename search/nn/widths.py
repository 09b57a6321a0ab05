"""Width expressions: how a tensor's channel count depends on a layout.

A codec is written once, at full width; every channel count in it is a :class:`Width`, a linear
expression over the codec's layer keys (``2 * y`` for an interleaved mean/scale output, a constant 2 for
a flow) that knows its value in the layout being built (``now``) and at full width (``full``). Slimmable
modules take Widths instead of ints: ``now`` sizes their weights, ``full`` tells how to slice a
full-width checkpoint, and the terms tell the complexity accounting and the channel masks which layer
widths they follow.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence, Union

import torch

from .masks import Mix


@dataclass(frozen=True)
class Width:
    """``const + sum(mult * layout[key])``, evaluated at the layout being built and at full width."""

    terms: tuple[tuple[str, int], ...]
    const: int
    now: int
    full: int

    def __int__(self) -> int:
        return self.now

    def __mul__(self, factor: int) -> "Width":
        return Width(tuple((k, m * factor) for k, m in self.terms), self.const * factor,
                     self.now * factor, self.full * factor)

    __rmul__ = __mul__

    @property
    def key(self) -> str | None:
        """The layer key when this width is exactly one layer's width (mult 1), else None."""
        if len(self.terms) == 1 and self.terms[0][1] == 1 and self.const == 0:
            return self.terms[0][0]
        return None

    def value(self, layout: Mapping[str, int]) -> int:
        return self.const + sum(m * layout[k] for k, m in self.terms)

    def mask(self, mix: Mix, like: torch.Tensor) -> torch.Tensor | None:
        """The channel mask ``mix`` gives this width (None: a constant width, or not masked)."""
        if mix.choices is None or not self.terms:
            return None
        if len(self.terms) != 1 or self.const:
            raise ValueError(f"cannot mask an output of width {self}: one layer key expected")
        key, mult = self.terms[0]
        return mix.mask(key, mult, self.full // mult, like)


WidthLike = Union[Width, Sequence[Width]]


def segments(width: WidthLike) -> tuple[Width, ...]:
    """The concatenated parts of an input width (a single Width is one part)."""
    return (width,) if isinstance(width, Width) else tuple(width)


def total_now(width: WidthLike) -> int:
    return sum(w.now for w in segments(width))


def total_full(width: WidthLike) -> int:
    return sum(w.full for w in segments(width))


@dataclass(frozen=True)
class Layer:
    """One row of a codec's structure table (a searchable unit, or a fixed one).

    ``kind`` is the paper's letter: ``C`` conv, ``D`` transposed conv, ``S`` sub-pixel conv, ``R``
    residual block, ``DC`` deformable conv. ``arrow`` is ``↓``/``↑`` for stride-2 layers (or a
    following pool/upsample). ``fixed`` names why the width may not change (``"flow output"``).
    ``paper`` is the notation printed in the cgSlimDecoder table when the public code differs from it,
    with ``note`` saying how; ``paper=""`` marks a layer the paper's table omits.
    """

    key: str
    kind: str
    full: int
    arrow: str = ""
    fixed: str = ""
    paper: str | None = None
    note: str = ""


@dataclass
class Row:
    """What building a layer recorded, for the structure report: its notation's numbers."""

    kind: str
    arrow: str
    numbers: tuple[Width, ...]


class Widths:
    """Hands out :class:`Width` objects for one build of a codec, and records the report rows.

    ``layers`` are the codec's layers (their full widths); ``layout`` maps layer keys to widths (missing
    keys are at full width).
    """

    def __init__(self, layers: Iterable[Layer], layout: Mapping[str, int] | None = None):
        self.layers = {layer.key: layer for layer in layers}
        layout = dict(layout or {})
        unknown = sorted(set(layout) - set(self.layers))
        if unknown:
            raise KeyError(f"unknown layer(s) {unknown}; this codec has {sorted(self.layers)}")
        self.layout = {k: int(layout.get(k, layer.full)) for k, layer in self.layers.items()}
        self.rows: dict[str, Row] = {}
        self.mix = Mix()

    def __getitem__(self, key: str) -> Width:
        if key not in self.layers:
            raise KeyError(f"unknown layer {key!r}")
        return Width(((key, 1),), 0, self.layout[key], self.layers[key].full)

    @staticmethod
    def fixed(channels: int) -> Width:
        return Width((), int(channels), int(channels), int(channels))

    def row(self, key: str, *numbers: WidthLike) -> None:
        """Record the numbers printed in ``key``'s row: ``C(in,out)``, ``R(hidden)``..."""
        layer = self.layers[key]
        flat = tuple(merge(n) for n in numbers)
        self.rows[key] = Row(layer.kind, layer.arrow, flat)


def merge(width: WidthLike) -> Width:
    """A concatenation as one Width (sum of its parts), for notation and accounting."""
    parts = segments(width)
    if len(parts) == 1:
        return parts[0]
    terms: dict[str, int] = {}
    for p in parts:
        for k, m in p.terms:
            terms[k] = terms.get(k, 0) + m
    return Width(tuple(terms.items()), sum(p.const for p in parts), sum(p.now for p in parts),
                 sum(p.full for p in parts))

