"""Rate-distortion curves: PSNR-bpp and MS-SSIM-bpp, one line per curve, PNG and SVG."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from .figures import save_figure

MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "h", "<", ">"]


def plot_rd(curves: Mapping[str, Sequence[tuple[float, float]]], out_stem: Path | str, *, metric: str,
            title: str = "", mse_trained: bool = True) -> tuple[Path, Path]:
    """Draw each curve (label -> (bpp, quality) points) into ``<out_stem>.png`` and ``.svg``.

    ``metric`` is ``psnr`` or ``ms_ssim``; MS-SSIM of models trained for MSE is labelled so. Points
    given as ``(bpp, quality, low, high)`` get error bars from ``low`` to ``high`` (an interval).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.8), dpi=150)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for k, (label, points) in enumerate(curves.items()):
        ordered = sorted(points)
        if not ordered:
            continue
        columns = np.array(ordered, dtype=float).T
        xs, ys = columns[0], columns[1]
        line, = ax.plot(xs, ys, marker=MARKERS[k % len(MARKERS)], lw=1.3, ms=5, label=label)
        if len(columns) == 4 and np.isfinite(columns[2:]).all():
            ax.errorbar(xs, ys, yerr=np.abs(np.stack([ys - columns[2], columns[3] - ys])), fmt="none",
                        ecolor=line.get_color(), elinewidth=0.9, capsize=2.5)
    ax.set_xlabel("bpp (I-frames included)")
    if metric == "psnr":
        ax.set_ylabel("PSNR (dB, RGB)")
    else:
        ax.set_ylabel("MS-SSIM (RGB)" + (" of models trained for MSE" if mse_trained else ""))
    ax.set_title(title)
    ax.grid(True, color="0.9", lw=0.6)
    ax.legend(fontsize=7.5)
    fig.tight_layout()
    stem = Path(out_stem)
    return tuple(save_figure(fig, stem.with_name(f"{stem.name}.{fmt}"), fmt) for fmt in ("png", "svg"))
