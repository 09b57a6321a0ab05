"""Values written in configs and files: frame sizes."""
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
