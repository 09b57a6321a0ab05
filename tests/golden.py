"""Golden figures: a tiny fixed-seed main job and the structure reports of the built-in spaces.

They pin behaviour across refactoring: ``test_golden.py`` runs the same commands and compares the
structure reports, layouts, GMACs, counts, step numbers and levels exactly, and every trained figure (RD
figures, losses, noise) within the tolerance written beside the fixture in ``tolerances.json``.

Why tolerances: PyTorch (ATen), oneDNN and MKL pick their vectorised CPU kernels by the processor
(AVX-512, AVX2, none), float sums round differently, and training carries the difference
into the fourth significant digit. The recorder therefore also runs the job under the kernel choices a
user's machine may make (each library forced below this processor's own capability, and all of them at
their lowest together, in sequence) and sets each figure's tolerance from the measured spread::

    spread    = max over variants |variant - fixture|
    tolerance = max(SAFETY * max(spread, family's relative spread * |fixture|),
                    FLOOR_REL * |fixture|, last printed digit of a log)

where a figure's family is the same figure of every trial, log row or target.

A change that alters behaviour on purpose re-records (six runs in sequence: about three minutes on 2
idle cores, 28 s natively and 48 s with every library at its lowest kernels)::

    python tests/golden.py            # rewrites tests/fixtures/golden/ (fixture, reports, tolerances)
    python tests/golden.py --check    # one run: prints what moved beyond tolerance, writes nothing

The rule: a re-recording states every figure that moved beyond its tolerance. The recorder prints them
(against the previous fixture and its tolerances); the commit message lists them and says why.

Everything goes through the commands' keys, the stable interface: ``python -m search.run`` as a
subprocess, the structure reports through ``search.report``'s ``main``.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "fixtures" / "golden"
TOLERANCES = GOLDEN / "tolerances.json"
SPACES = ("dvc", "fvc", "dcvc", "slimvc")

#: the tiny main job: DVC, two targets, a few steps, no time limits, one thread (bitwise repeatable on
#: one machine; ``threads=1`` is part of the job, so a user's thread count never enters its figures)
#: its test set: two 64x64 crops of held-out frames (``write_test_set``), so that each of its eight
#: evaluations codes one small P-frame, not full-size clips (that took 90% of the job's time)
TEST_SET = GOLDEN / "testset"
MAIN_JOB = ["space=dvc", "target_gmacs=[400,200]", "stage1_steps=2", "stage1_time_limit=0", "steps=3",
            "time_limit=0", "trials=6", "batch=1", "crop=64", "eval_gop_size=2", "val_count=3",
            "threads=1", "seed=0", "intra_quick_steps=2", "finetune_steps=2",
            f"test_data={TEST_SET.relative_to(ROOT).as_posix()}"]

#: words of the (nearest named) key of a number that is a complexity, a count, a step or a level: exact
EXACT = ("gmacs", "target", "range", "distance", "number", "trial", "step", "level")
#: ... unless it is a margin: an RD loss difference (``margin_vs_level``), a trained figure
MEASURED = ("margin",)
#: measured spread times this is a figure's tolerance: the variants run here bound the kernels of the
#: processors we can emulate, not every processor's (another vendor's MKL path, ARM's), so leave room
SAFETY = 4.0
#: the smallest tolerance, relative: two installs on the same processor differ by this much (package
#: versions pip resolves on the day; up to 9e-6 measured between the fixture of one day and the next)
FLOOR_REL = 1e-5

#: ATen's kernel capabilities from the lowest; ``ATEN_CPU_CAPABILITY`` forces one up to the processor's
ATEN_LEVELS = ("default", "avx2", "avx512")
#: per ATen capability, the oneDNN and MKL instruction sets a step below it (what a processor one
#: generation older uses for convolutions and matrix products)
STEP_BELOW = {"avx512": {"ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"},
              "avx2": {"ONEDNN_MAX_CPU_ISA": "SSE41", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2"}}
#: every library at its lowest on x86: ATen, oneDNN, MKL, and NumPy's dispatch above its baseline
LOWEST = {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41",
          "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
          "NPY_DISABLE_CPU_FEATURES": "SSSE3 SSE41 POPCNT SSE42 AVX F16C FMA3 AVX2 AVX512F AVX512CD "
                                      "AVX512_KNL AVX512_KNM AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL"}


def write_test_set(folder: Path = TEST_SET) -> None:
    """The golden job's test sequences: the first two held-out frames of each bundled clip (their
    ``test`` part, never trained on), cropped to their central 64x64, as ``<clip>/im00001.png``...;
    two sequences, so that the verdict's intervals are bootstrapped over sequences as in a real run."""
    from PIL import Image

    sys.path.insert(0, str(ROOT))
    from search.data import Clips

    clips = Clips("default", part="test", max_frames=2)
    for index in range(len(clips)):
        frames = clips[index]
        top, left = (frames.shape[1] - 64) // 2, (frames.shape[2] - 64) // 2
        sequence = folder / clips.name(index)
        sequence.mkdir(parents=True, exist_ok=True)
        for i, frame in enumerate(frames):
            Image.fromarray(frame[top:top + 64, left:left + 64]).save(sequence / f"im{i + 1:05d}.png")


def run_main_job(out: Path, env: dict[str, str] | None = None) -> None:
    done = subprocess.run([sys.executable, "-m", "search.run", *MAIN_JOB, f"out={out}"], cwd=ROOT,
                          capture_output=True, text=True, env={**os.environ, **(env or {})})
    if done.returncode:
        raise RuntimeError(f"the golden main job failed:\n{done.stderr[-3000:]}")


def structure_report(space: str) -> str:
    """``python -m search.report space=<space> format=md``, called in this process (its ``main``: the
    same code and keys without another interpreter's seconds of imports)."""
    from search.commands.report import main

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        main([f"space={space}", "format=md"])
    return printed.getvalue()


def _log(path: Path) -> list[dict]:
    frame = pd.read_csv(path)
    return frame.drop(columns=[c for c in ("seconds",) if c in frame]).to_dict("records")


def main_job_figures(out: Path) -> dict:
    """What the tiny main job must reproduce: summary, trials, exported layouts and training logs."""
    summary = json.loads((out / "summary.json").read_text())
    summary.pop("weights_sha256", None)  # names the bytes of a checkpoint, not a figure to reproduce
    summary.pop("wall_seconds", None)  # how long this machine took, not a figure of the job
    trials = pd.read_csv(out / "trials.csv")
    layouts = {p.stem: yaml.safe_load(p.read_text())["layout"]
               for p in sorted((out / "layouts").glob("*.yaml"))}
    return {"summary": summary,
            "trials": trials[["number", "gmacs", "rd_loss", "rd_noise", "bpp", "psnr", "source",
                              "params"]].to_dict("records"),
            "layouts": layouts,
            "stage1_log": _log(out / "supernet" / "stage1" / "log.csv"),
            "stage2_log": _log(out / "supernet" / "log.csv")}


# ------------------------------------------------------------------ figures, one path each

def flatten(figures, path: str = "main_job") -> dict:
    """Every leaf of the figures by its path (``main_job.trials[3].bpp``); empty containers are leaves."""
    if isinstance(figures, dict) and figures:
        return {k: v for key, value in figures.items() for k, v in flatten(value, f"{path}.{key}").items()}
    if isinstance(figures, list) and figures:
        return {k: v for i, value in enumerate(figures) for k, v in flatten(value, f"{path}[{i}]").items()}
    return {path: figures}


def is_exact(path: str) -> bool:
    """Whether a number must match exactly: its nearest named key names a complexity, count, step or
    level (``...chosen.gmacs``, ``...range_gmacs[1]``, ``stage2_log[2].level``)."""
    key = re.sub(r"\[\d+\]$", "", path).rsplit(".", 1)[-1]
    return any(word in key for word in EXACT) and not key.startswith(MEASURED)


def is_measured(path: str, value) -> bool:
    """A trained figure, compared within its tolerance (a float that is not exact)."""
    return isinstance(value, float) and not math.isnan(value) and not is_exact(path)


def _last_digit(path: str, value: float) -> float:
    """log.csv prints 6 significant digits: a figure within tolerance may still flip the last one."""
    if "_log[" not in path or not value:
        return 0.0
    return 10.0 ** (math.floor(math.log10(abs(value))) - 5)


@dataclass
class Mismatch:
    """One figure that is not reproduced: where, what was recorded, what came, what was allowed."""
    path: str
    expected: object
    actual: object
    tolerance: float | None = None

    def __str__(self) -> str:
        allowed = "exactly" if self.tolerance is None else f"± {self.tolerance:.3g}"
        return f"{self.path}: {self.actual!r}, recorded {self.expected!r} {allowed}"


def mismatches(expected: dict, actual: dict, tolerances: dict[str, float]) -> list[Mismatch]:
    """The figures of ``actual`` that do not reproduce ``expected`` (both flattened): exact ones
    differing at all, measured ones beyond their tolerance, paths only one side has."""
    found = [Mismatch(p, expected.get(p, "<absent>"), actual.get(p, "<absent>"))
             for p in sorted(set(expected) ^ set(actual))]
    for path in sorted(set(expected) & set(actual)):
        e, a = expected[path], actual[path]
        if is_measured(path, e) and isinstance(a, (int, float)):
            tol = tolerances.get(path)
            if tol is None or not abs(a - e) <= tol:
                found.append(Mismatch(path, e, a, tol))
        elif isinstance(e, float) and math.isnan(e):
            if not (isinstance(a, float) and math.isnan(a)):
                found.append(Mismatch(path, e, a))
        elif a != e:
            found.append(Mismatch(path, e, a))
    return found


def read_tolerances(path: Path = TOLERANCES) -> dict[str, float]:
    """Per measured figure, its tolerance (absolute)."""
    return {p: f["tolerance"] for p, f in json.loads(path.read_text())["figures"].items()}


# ------------------------------------------------------------------ the spread across kernels

def cpu_capability(env: dict[str, str] | None = None) -> str:
    """ATen's kernel capability under ``env`` (as torch reports it)."""
    script = "import torch; print(torch.backends.cpu.get_cpu_capability())"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                          env={**os.environ, **(env or {})})
    return done.stdout.strip()


def variants(native: str) -> dict[str, dict[str, str]]:
    """The kernel choices a user's machine may make below this processor's own (``native``, ATen's
    word), run in this order: each ATen capability below it, oneDNN and MKL a step below, and every
    library at its lowest at once."""
    native = native.lower()
    below = ATEN_LEVELS[:ATEN_LEVELS.index(native)] if native in ATEN_LEVELS else ("default",)
    chosen = {f"aten={level}": {"ATEN_CPU_CAPABILITY": level} for level in reversed(below)}
    for variable, value in STEP_BELOW.get(native, {}).items():
        chosen[f"{variable.split('_')[0].lower()}={value}"] = {variable: value}
    chosen["all lowest"] = LOWEST
    return chosen


def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def measure(env: dict[str, str] | None = None) -> tuple[dict, float]:
    """The main job's figures under ``env`` (added to this environment), and its seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        run_main_job(Path(tmp) / "run", env)
        return main_job_figures(Path(tmp) / "run"), time.perf_counter() - start


def family(path: str) -> str:
    """The figure a path is one of, its list indices dropped (``main_job.trials[].bpp``)."""
    return re.sub(r"\[\d+\]", "[]", path)


def tolerances(fixture: dict, runs: dict[str, dict]) -> dict[str, dict]:
    """Per measured figure of the fixture: its spread (the largest distance of a variant from the
    fixture), its family's relative spread (the same figure of every trial, log row or target: five
    variants are few, and a figure that happened to move little under them shares its kin's room), and
    its tolerance. A variant whose exact figures differ is an error: those are never loosened."""
    for name, figures in runs.items():
        moved = mismatches(fixture, figures, {p: math.inf for p in fixture})
        if moved:
            raise SystemExit(f"under {name} exact figures differ; the fixture would hold on one kind of "
                             "processor only:\n  " + "\n  ".join(map(str, moved)))
    measured = [p for p, value in fixture.items() if is_measured(p, value)]
    spread = {p: max(abs(figures[p] - fixture[p]) for figures in runs.values()) for p in measured}
    relative: dict[str, float] = {}
    for p in measured:
        if fixture[p]:
            relative[family(p)] = max(relative.get(family(p), 0.0), spread[p] / abs(fixture[p]))
    table = {}
    for p in measured:
        kin = relative.get(family(p), 0.0)
        room = max(spread[p], kin * abs(fixture[p]))
        floor = max(FLOOR_REL * abs(fixture[p]), _last_digit(p, fixture[p]))
        table[p] = {"spread": spread[p], "family_relative_spread": kin,
                    "tolerance": max(SAFETY * room, floor)}
    return table


def report_moved(previous: Path, fixture: dict, measured: dict[str, dict]) -> list[Mismatch]:
    """Print (and return) every figure that moved beyond its tolerance against the previous fixture:
    the previous tolerances where there are some, else the ones just measured."""
    if not previous.is_file():
        print("no previous fixture: nothing to compare")
        return []
    allowed = (read_tolerances() if TOLERANCES.is_file()
               else {p: figure["tolerance"] for p, figure in measured.items()})
    moved = mismatches(flatten(json.loads(previous.read_text())), fixture, allowed)
    print(f"{len(moved)} figure(s) moved beyond their tolerance against the previous fixture"
          + (":" if moved else ""))
    for mismatch in moved:
        print(f"  {mismatch}")
    return moved


def how_measured(chosen: dict[str, dict[str, str]], capabilities: dict[str, str],
                 seconds: dict[str, float]) -> dict:
    """When, where and under which kernel choices the spread was measured."""
    import numpy
    import torch

    return {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpu": cpu_model(),
            "torch": torch.__version__, "numpy": numpy.__version__, "python": platform.python_version(),
            "variants": {name: {"env": chosen.get(name, {}), "aten_capability": capabilities[name],
                                "seconds": round(seconds[name], 1)} for name in capabilities},
            "safety": SAFETY, "floor_rel": FLOOR_REL,
            "rule": "tolerance = max(safety * max(spread, family_relative_spread * |fixture|), "
                    "floor_rel * |fixture|, last printed digit of a log); spread = largest "
                    "|variant - fixture| over the variants; family = the figure with list indices "
                    "dropped (every trial's bpp, every log row's loss)"}


def record() -> None:
    """Run the main job natively and under every kernel variant in sequence, then write the fixture,
    the tolerances and the structure reports (nothing is written if an exact figure differs)."""
    write_test_set()
    native = cpu_capability()
    chosen = variants(native)
    print(f"the main job natively ({native}), then under {len(chosen)} kernel choices in sequence: "
          f"{', '.join(chosen)}")
    figures, first = measure()
    seconds, capabilities, runs = {"native": first}, {"native": native}, {}
    print(f"  native ({native}): {first:.0f} s", flush=True)
    for name, env in chosen.items():
        capabilities[name] = cpu_capability(env)
        measured, seconds[name] = measure(env)
        runs[name] = flatten(measured)
        print(f"  {name} ({capabilities[name]}): {seconds[name]:.0f} s", flush=True)
    fixture = flatten(figures)
    table = tolerances(fixture, runs)
    report_moved(GOLDEN / "main_job.json", fixture, table)
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for space in SPACES:
        (GOLDEN / f"report_{space}.md").write_text(structure_report(space))
    (GOLDEN / "main_job.json").write_text(json.dumps(figures, indent=1, sort_keys=True) + "\n")
    TOLERANCES.write_text(json.dumps({"measured": how_measured(chosen, capabilities, seconds),
                                      "figures": table}, indent=1) + "\n")
    widest = max(table, key=lambda p: table[p]["spread"] / abs(fixture[p]) if fixture[p] else 0.0)
    print(f"widest relative spread: {widest} {table[widest]['spread'] / abs(fixture[widest]):.2g}")
    print(f"wrote {GOLDEN}")


def check() -> int:
    """Run the main job once, natively, and print what moved beyond tolerance; write nothing."""
    figures, seconds = measure()
    print(f"the main job natively ({cpu_capability()}): {seconds:.0f} s")
    return 1 if report_moved(GOLDEN / "main_job.json", flatten(figures), {}) else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="run the main job once and print the figures that moved beyond their "
                             "tolerance against the fixture; write nothing (about a minute)")
    if parser.parse_args().check:
        sys.exit(check())
    record()
