"""The structure report's figure rows: a decoder's measured figures as cells of its column, and the
notes under the main job's table that say what the figures were measured on."""
from __future__ import annotations

import math
from typing import Mapping

from .console import interval_text, target_of

#: the report's rows of the chosen-vs-uniform differences (summary key, label, digits)
VERSUS_ROWS = (("psnr_db", "chosen - uniform, PSNR (dB)", 3), ("bpp", "chosen - uniform, bpp", 4),
               ("rd_loss", "chosen - uniform, RD loss (test)", 3))


#: decode-time rows, where a job timed its decoders (summary key, label)
TIME_ROWS = (("predicted_ms", "decode time, predicted (ms)"), ("measured_ms", "decode time, measured (ms)"))


def time_cells(metrics: Mapping[str, float]) -> dict[str, str]:
    """The predicted and measured decode time of a decoder, where there are any."""
    return {label: f"{metrics[key]:.1f}" for key, label in TIME_ROWS if key in metrics}


def quality_cells(metrics: Mapping[str, float], source: str) -> dict[str, str]:
    """PSNR and bpp (the supernet job's levels), and decode times where timed; none when the levels
    were neither evaluated nor timed."""
    cells = {"PSNR (dB)": f"{metrics['psnr']:.3f}", f"bpp ({source})": f"{metrics['bpp']:.4f}"} \
        if "psnr" in metrics else {}
    return {**cells, **time_cells(metrics)}


def decoder_cells(metrics: dict, source: str, suffix: str = "") -> dict[str, str]:
    """A main job column's rows: validation RD losses, the uniform width, test PSNR / MS-SSIM / bpp, the
    chosen-vs-uniform differences; ``stage1`` (the original's stage-1 weights) adds its own rows."""
    cells = {f"RD loss (validation, shared weights){suffix}": f"{metrics['rd_loss']:.4f}"}
    if math.isfinite(metrics.get("rd_noise", float("nan"))):
        cells["RD loss noise (standard error)"] = f"{metrics['rd_noise']:.4f}"
    if math.isfinite(metrics.get("rd_loss_finetuned", float("nan"))):
        cells["RD loss (validation, after fine-tuning)"] = f"{metrics['rd_loss_finetuned']:.4f}"
    cells.update(time_cells(metrics))
    if "width" in metrics:
        cells["uniform width factor"] = f"{metrics['width']:.3f}" + ("" if metrics["on_grid"] else " (off grid)")
    for key, label, digits in (("psnr", "PSNR (dB)", 3), ("ms_ssim", "MS-SSIM", 4), ("bpp", f"bpp ({source})", 4)):
        if key in metrics:
            cells[f"{label}{suffix}"] = f"{metrics[key]:.{digits}f}"
    if "stage1" in metrics:
        cells.update(decoder_cells(metrics["stage1"], source, ", stage-1 weights"))
    for key, label, digits in VERSUS_ROWS:
        if key in metrics.get("chosen_vs_uniform", {}):
            cells[label] = interval_text(metrics["chosen_vs_uniform"][key], digits)
    return cells


def verdict_notes(rows: list[dict], steps: int, rate: float, test_data: str, test_data_is: str,
                  images: bool) -> list[str]:
    """The notes under the main job's table: how chosen and uniform were measured, then each
    target's own notes (the choice, the uniform baseline's reading)."""
    notes = [f"Chosen and Uniform columns: PSNR, MS-SSIM and bpp after {steps} fine-tuning "
             f"steps (Adam, lr {rate:g}) from the shared weights, on the test {'images' if images else 'sequences'} "
             f"({test_data}: {test_data_is}); Uniform is one width factor for every searchable layer "
             f"at the chosen decoder's cost (read between two uniform layouts where one factor "
             f"stops more than 1% below). Validation RD losses: the decision batches, which "
             f"did not rank the trials. 'chosen - uniform' rows: mean over test units with a "
             f"paired bootstrap 95% interval and its verdict."]
    for row in rows:
        if "chosen" in row:
            notes.append(f"@{target_of(row):g}: {row['chosen']['note']}.")
        for key in ("note", "read_between"):
            if row.get("uniform", {}).get(key):
                notes.append(f"@{target_of(row):g}, uniform: {row['uniform'][key]}.")
    return notes
