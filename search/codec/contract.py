"""What a codec class declares besides its layers: typed training presets and where it comes from.

A codec file writes ``QUICK`` / ``PAPER`` as a :class:`Preset` or as a plain dict; either way the class
holds a :class:`Preset` once it is defined (:meth:`search.codec.Codec.__init_subclass__`), so a misspelt
key fails when the codec is loaded, naming the key, instead of being silently ignored.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Iterator

from ..errors import BadInput

#: preset keys whose value is a whole number (the others are reals, or None for "no limit")
_WHOLE = ("crop", "batch", "steps", "checkpoint_every", "finetune_steps")


@dataclass(frozen=True, eq=False)
class Preset(Mapping):
    """A codec's training preset: what it fixes for ``preset=quick`` or ``preset=paper`` where the
    project's table (:data:`search.config.presets.PRESET_DEFAULTS`) would otherwise decide. Unset
    fields (None) leave the table's value. Reads as a mapping of the set keys, ``lmbda`` under its
    configuration name ``lambda``, so ``{**table, **codec.QUICK}`` overrides the table."""

    crop: int | None = None
    batch: int | None = None
    lr: float | None = None
    steps: int | None = None
    lmbda: float | None = None
    time_limit: float | None = None
    checkpoint_every: int | None = None
    finetune_steps: int | None = None
    mask_decay_rate: float | None = None

    @classmethod
    def of(cls, values: "Preset | Mapping[str, Any]", where: str = "preset") -> "Preset":
        """A preset from a mapping written with configuration names (``lambda``, not ``lmbda``)."""
        if isinstance(values, Preset):
            return values
        names = {_key(f.name): f.name for f in dataclasses.fields(cls)}
        unknown = [k for k in values if k not in names]
        if unknown:
            raise BadInput(f"{where}: unknown key {unknown[0]!r}; accepted: {', '.join(names)}")
        return cls(**{names[k]: v for k, v in values.items()})

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            whole = f.name in _WHOLE
            if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)):
                raise BadInput(f"preset key {_key(f.name)!r} = {value!r}: expected "
                               f"{'a whole number' if whole else 'a number'}")

    def __getitem__(self, key: str) -> Any:
        name = "lmbda" if key == "lambda" else key
        value = getattr(self, name, None) if name in _FIELDS else None
        if value is None:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[str]:
        return (_key(f) for f in _FIELDS if getattr(self, f) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"Preset({', '.join(f'{k}={v!r}' for k, v in self.items())})"


_FIELDS = tuple(f.name for f in dataclasses.fields(Preset))


def _key(name: str) -> str:
    return "lambda" if name == "lmbda" else name


@dataclass(frozen=True)
class Provenance:
    """Where a codec comes from: the paper it follows, the public code it follows layer for layer
    (empty when there is none) and that code's commit (empty when not pinned)."""

    paper: str
    code: str = ""
    commit: str = ""

    def line(self) -> str:
        """One line for ``--help`` and the reports."""
        source = self.code + (f" @ {self.commit}" if self.commit else "") if self.code else \
            "no public code"
        return f"{self.paper}; {source}"
