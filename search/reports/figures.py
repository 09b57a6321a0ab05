"""Writing matplotlib figures: the Agg canvas directly (no pyplot, no GUI backend), atomically."""
from __future__ import annotations

import io
from pathlib import Path

from ..files import atomic_write


def save_figure(fig, path: Path, fmt: str) -> Path:
    """``fig`` as ``fmt`` (png, svg) at ``path``, written atomically with the user's umask."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt)
    return atomic_write(path, buffer.getvalue())
