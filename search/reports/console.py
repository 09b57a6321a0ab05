"""What the jobs print when they end: the main job's table of chosen against uniform decoders, the
BD figures of a run with several lambdas, the supernet job's levels. Figures are read from the
summaries the jobs write (``summary.json``), so what is printed is what was saved."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from ..stage2 import LevelResult


def interval_text(figure: dict, digits: int = 3) -> str:
    """``+0.123 [-0.2, +0.4] not distinguishable`` (an interval's dict)."""
    return (f"{figure['estimate']:+.{digits}f} [{figure['low']:+.{digits}f}, {figure['high']:+.{digits}f}] "
            f"{figure['verdict']}")


def target_of(row: dict) -> float:
    """A summary row's target, in GMACs (``target_gmacs``) or ms (``target_ms``)."""
    return row["target_ms"] if "target_ms" in row else row["target_gmacs"]


def _side_text(side: dict | None, width: int, extra: str, key: str = "gmacs") -> str:
    if not side:
        return ""
    timed = f" ({side['measured_ms']:.1f} ms measured)" if "measured_ms" in side else ""
    return (f"{side[key]:>{width}.3f} {extra} {side.get('psnr', float('nan')):>7.2f} "
            f"{side.get('bpp', float('nan')):>7.4f}{timed}")


def cost_of(summary: dict) -> tuple[str, str]:
    """The summary's cost key and unit: ``("gmacs", "GMACs")``, or ``("ms", "ms")`` under
    ``objective=latency``."""
    objective = summary.get("objective") or {}
    return objective.get("key", "gmacs"), objective.get("unit", "GMACs")


def print_summary(summary: dict, out: Path) -> None:
    """The main job's summary at one lambda: the original decoder, then per target the chosen and the
    uniform decoder at the chosen cost and their difference with its interval."""
    original = summary["original"]
    key, unit = cost_of(summary)
    print(f"\n{summary['space']} @ {summary['resolution']}, lambda {summary['lambda']:g}: original decoder "
          f"{summary['range_gmacs'][1]:.3f} GMACs, RD loss {original['rd_loss']:.4f}"
          + (f", {original['measured_ms']:.1f} ms measured" if "measured_ms" in original else "")
          + (f", PSNR {original['psnr']:.2f} dB, bpp {original['bpp']:.4f}" if "psnr" in original else "")
          + " (shared supernet weights)")
    print(f"{'target':>9} | {'chosen ' + unit:>12} {'dist':>7} {'PSNR':>7} {'bpp':>7} | "
          f"{'uniform ' + unit:>13} {'width':>6} {'PSNR':>7} {'bpp':>7} | chosen - uniform, PSNR dB "
          f"[95%]   (fine-tuned {summary['finetune_steps']} steps each, lr {summary.get('finetune_lr', 0):g})")
    for row in summary["targets"]:
        c, u = row.get("chosen"), row.get("uniform")
        # a timed decoder's distance is its measured time's: what the target promised
        dist = c.get("measured_distance", c["distance"]) if c else 0.0
        left = _side_text(c, 12, f"{100 * dist:>6.2f}%", key) if c else f"{'no feasible trial':>36}"
        right = _side_text(u, 13, f"{u['width']:>6.3f}", key) if u else f"{'none':>36}"
        versus = row.get("chosen_vs_uniform", {})
        diff = interval_text(versus["psnr_db"]) if "psnr_db" in versus else "-"
        print(f"{target_of(row):>9.3f} | {left} | {right} | {diff}")
    for row in summary["targets"]:
        versus = row.get("chosen_vs_uniform", {})
        if "bpp" in versus:
            print(f"@{target_of(row):g}: chosen - uniform: bpp {interval_text(versus['bpp'], 4)}, RD loss "
                  f"{interval_text(versus['rd_loss'])} (over {versus['units']})")
    print(f"measured: {summary['measured']}")
    print(f"validation: ranked on {summary['validation']['ranked_on']}; decided and measured on "
          f"{summary['validation']['decided_on']}")
    if summary.get("wall_seconds"):
        print("wall time: " + ", ".join(f"{phase} {seconds:.0f} s"
                                        for phase, seconds in summary["wall_seconds"].items()))
    print(f"results: {out}")


def print_bd_versus_uniform(targets: Iterable[dict], out: Path) -> None:
    """A run with several lambdas: per target the BD figures of chosen against uniform."""
    for row in targets:
        if row.get("bd_rate_vs_uniform") is not None:
            print(f"@{target_of(row):g}: chosen against uniform at the chosen cost: BD-rate "
                  f"{interval_text(row['bd_rate_interval'], 2)} %, BD-PSNR "
                  f"{interval_text(row['bd_psnr_interval'])} dB (over {row['bd_units']})"
                  + (f"; {row['curve_note']}" if row.get("curve_note") else ""))
    print(f"results: {out} (python -m search.compare {out} for every curve)")


def print_levels(levels: list[LevelResult], out: Path, unit: str = "GMACs") -> None:
    """The supernet job's levels: each target (in ``unit``), where its argmax layout and its landed
    layout fall, and, where the decoders were timed, the measured time and its distance."""
    timed = any("measured_ms" in r.metrics for r in levels)
    print(f"targets in {unit}")
    print(f"{'level':<18}{'target':>10}{'argmax':>10}{'dist':>8}{'landed':>10}{'dist':>8}"
          f"{'PSNR':>8}{'bpp':>8}" + (f"{'meas. ms':>10}{'dist':>8}" if timed else ""))
    for r in levels:
        psnr = f"{r.metrics['psnr']:.2f}" if "psnr" in r.metrics else "-"
        bpp = f"{r.metrics['bpp']:.4f}" if "bpp" in r.metrics else "-"
        measured = ""
        if timed:
            distance = r.metrics.get("measured_distance")
            measured = f"{r.metrics['measured_ms']:>10.1f}" + \
                (f"{100 * distance:>7.1f}%" if distance is not None else f"{'':>8}")
        print(f"{r.name:<18}{r.target:>10.3f}{r.argmax_value:>10.3f}"
              f"{100 * (r.argmax_value - r.target) / r.target:>7.1f}%{r.landing.value:>10.3f}"
              f"{100 * r.landing.distance:>7.2f}%{psnr:>8}{bpp:>8}{measured}")
        if r.landing.note:
            print(f"  note: {r.landing.note}")
    print(f"results: {out}")
