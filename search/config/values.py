"""Values written in configs and files: frame sizes, the complexity vector's embedding."""
from __future__ import annotations

import re
from typing import Sequence

from ..errors import BadInput


def parse_resolution(text: str | Sequence[int]) -> tuple[int, int]:
    """``"1920x1080"`` -> (1920, 1080), width first."""
    if isinstance(text, (list, tuple)) and len(text) == 2:
        text = f"{text[0]}x{text[1]}"
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", str(text))
    if not match or int(match[1]) <= 0 or int(match[2]) <= 0:
        raise BadInput(f"resolution={text!r}: expected WIDTHxHEIGHT with positive integers, "
                       f"e.g. 1920x1080")
    return int(match[1]), int(match[2])


def format_resolution(size: Sequence[int]) -> str:
    return f"{size[0]}x{size[1]}"


EMBEDDINGS = ("onehot", "elfvc")


def embedding_dims(kind: str, dims: int, levels: int) -> int:
    """The size of the complexity vector of ``levels`` levels under ``embedding=kind`` with
    ``embedding_dims=dims`` (0: one per level); BadInput when the pair cannot work. ``levels`` 0 (no
    targets yet) checks what does not depend on it."""
    if kind not in EMBEDDINGS:
        raise BadInput(f"embedding={kind!r}: expected one of {', '.join(EMBEDDINGS)}")
    if isinstance(dims, bool) or not isinstance(dims, int) or dims < 0:
        raise BadInput(f"embedding_dims={dims!r}: expected a non-negative integer (0: one per level)")
    if kind == "onehot" and dims and dims != levels:
        count = f" ({levels})" if levels else ""
        raise BadInput(f"embedding_dims={dims}: embedding=onehot has one dimension per level{count}; "
                       f"use embedding=elfvc to embed the levels in fewer or more")
    dims = dims or levels
    if levels > 1 and dims == 1:
        raise BadInput(f"embedding_dims=1: {levels} levels in one dimension are all the same vector; "
                       f"give at least 2")
    return dims
