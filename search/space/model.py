"""The space model: a codec's layers with their width options, ties and report modules.

A :class:`Space` is what :mod:`search.space.load` builds from ``spaces/<name>.yaml`` after validating it
against its codec. ``groups`` are the independent choices of a search: each a tuple of tied layer keys
that take the same option index.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ..codec import Codec, file_hash
from ..errors import BadInput
from .names import did_you_mean


@dataclass(frozen=True)
class SpaceLayer:
    key: str
    module: str
    full: int
    options: tuple[int, ...]  # descending; options[0] is the full width
    fixed: bool
    #: widths off the option grid (uniform slimming by any factor) are multiples of this
    divisor: int = 1


@dataclass(frozen=True)
class Module:
    name: str
    layers: tuple[str, ...]
    in_paper: bool = True
    decoder: bool = True


@dataclass
class Space:
    """A validated search space. ``groups`` are the independent choices: each a tuple of tied layer
    keys that take the same option index (a singleton for an untied layer)."""

    name: str
    path: Path
    codec_name: str
    codec: type[Codec]
    layers: dict[str, SpaceLayer]
    modules: list[Module]
    groups: list[tuple[str, ...]]
    codec_path: Path = field(default=Path())

    # -- views ------------------------------------------------------------------------------------

    @property
    def searchable(self) -> list[str]:
        return [k for k, layer in self.layers.items() if not layer.fixed]

    @property
    def group_sizes(self) -> list[int]:
        """Number of options of each group."""
        return [len(self.layers[g[0]].options) for g in self.groups]

    @property
    def decoder_modules(self) -> list[Module]:
        return [m for m in self.modules if m.decoder]

    def hashes(self) -> dict[str, str]:
        return {"space": file_hash(self.path), "codec": file_hash(self.codec_path)}

    def module_of(self, key: str) -> str:
        return self.layers[key].module

    # -- layouts ----------------------------------------------------------------------------------

    def full_layout(self) -> dict[str, int]:
        return {k: layer.full for k, layer in self.layers.items()}

    def layout_of(self, choice: Sequence[int]) -> dict[str, int]:
        """The layout for one option index per group."""
        if len(choice) != len(self.groups):
            raise ValueError(f"{len(choice)} choices for {len(self.groups)} groups")
        layout = self.full_layout()
        for group, index in zip(self.groups, choice):
            for key in group:
                layout[key] = self.layers[key].options[int(index)]
        return layout

    def choice_of(self, layout: Mapping[str, int]) -> list[int]:
        """Option index per group of a layout (BadInput if a width is not an option or ties break)."""
        self.check_layout(layout)
        choice = []
        for group in self.groups:
            indices = {self.layers[k].options.index(int(layout[k])) for k in group}
            if len(indices) != 1:
                widths = {k: int(layout[k]) for k in group}
                raise BadInput(f"layout breaks the tie {list(group)}: widths {widths}")
            choice.append(indices.pop())
        return choice

    def uniform_layout(self, index: int) -> dict[str, int]:
        """Every searchable layer at its ``index``-th option (uniform slimming)."""
        return self.layout_of([min(index, n - 1) for n in self.group_sizes])

    def scaled_layout(self, factor: float) -> dict[str, int]:
        """Uniform slimming by any ``factor`` in (0, 1]: every searchable layer at
        ``round(factor * full)`` to a multiple of its divisor (at least one divisor); tied layers have
        equal full widths and divisors, so ties hold. Usually off the option grid."""
        layout = self.full_layout()
        for key in self.searchable:
            layer = self.layers[key]
            layout[key] = min(layer.full, max(layer.divisor,
                                              int(round(factor * layer.full / layer.divisor)) * layer.divisor))
        return layout

    def random_choices(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """[count, groups] random option indices."""
        return np.stack([rng.integers(0, n, size=count) for n in self.group_sizes], axis=1)

    def check_layout(self, layout: Mapping[str, Any], where: str = "layout") -> None:
        unknown = [k for k in layout if k not in self.layers]
        if unknown:
            raise BadInput(f"{where}: unknown layer {unknown[0]!r} for space {self.name!r}"
                           f"{did_you_mean(unknown[0], self.layers)}")
        missing = [k for k in self.layers if k not in layout]
        if missing:
            raise BadInput(f"{where}: no width for layer {missing[0]!r} (space {self.name!r})")
        for key, width in layout.items():
            layer = self.layers[key]
            if not isinstance(width, (int, np.integer)) or isinstance(width, bool):
                raise BadInput(f"{where}: layer {key!r}: width {width!r} is not an integer")
            if int(width) not in layer.options:
                raise BadInput(f"{where}: layer {key!r}: width {width} is not among its options "
                               f"{list(layer.options)}")

    def option_matrix(self) -> list[np.ndarray]:
        """Per group, [options, layers-of-group] widths."""
        return [np.array([[self.layers[k].options[i] for k in g]
                          for i in range(len(self.layers[g[0]].options))]) for g in self.groups]
