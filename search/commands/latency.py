"""``python -m search.latency space=fvc resolution=448x256 threads=1``: measure a decode-time table.

Times the decoder side (``decode``, not entropy decoding) of the space's decoders at the uniform
layouts and seeded random ones, each slimmable module in context through forward hooks, and writes
``profiles/<space>@<WxH>.<device>[.t<threads>][.<precision>].latency.json``: per module its
milliseconds per (input, output) width, the calibration ``measured = alpha * sum + beta`` of the
modules' sum to whole-decoder time, and the error of both predictions on held-out random layouts.
A stored table is reused while the codec and space files and the settings are unchanged.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..config.values import format_resolution, parse_resolution
from ..errors import BadInput, cli_main
from ..paths import PROFILE_DIR
from ..space import load_space
from ..space.names import did_you_mean
from ..timing import LatencySettings, LatencyTable, latency_path, load_or_measure_latency
from . import codecs_help

PROG = "search.latency"


@dataclass(frozen=True)
class Key:
    """A key of this command: its default (as written on the command line) and help."""

    default: str
    help: str


#: the keys, in --help order; the timing settings are :class:`search.timing.LatencySettings`' fields
KEYS = {
    "space": Key("fvc", "search space (names the codec): spaces/<name>.yaml or a path"),
    "resolution": Key("448x256", "frame size WIDTHxHEIGHT (padded to the codec's multiple)"),
    "device": Key("cpu", "cpu, cuda or cuda:N"),
    "runtime": Key("torch", "torch (onnxruntime is refused: time exported decoders with search.export)"),
    "threads": Key("null", "torch CPU threads while timing, at least 1 (null: torch's default)"),
    "precision": Key("fp32", "fp32, fp16 or bf16 (codec and inputs cast)"),
    "repeats": Key("5", "timed runs per decoder; the median is kept"),
    "warmup": Key("2", "untimed runs before them"),
    "layouts": Key("20", "held-out random layouts the prediction is checked on (the design set: "
                         "the uniform layouts and layouts/2 random ones)"),
    "seed": Key("0", "seed of the random layouts and weights"),
    "force": Key("false", "measure again even if a stored table matches"),
    "profile_dir": Key("", "folder of the tables (default: profiles/)"),
}


def usage() -> str:
    lines = [f"usage: python -m {PROG} [key=value ...]", "", __doc__.split("\n")[0], ""]
    for name, key in KEYS.items():
        lines += [f"  {name}={key.default}", f"      {key.help}"]
    return "\n".join(lines + ["", codecs_help()])


def parse(argv: list[str]) -> dict[str, str]:
    """``key=value`` words over the defaults; unknown keys and words without ``=`` are one line."""
    if any(a in ("-h", "--help", "help") for a in argv):
        print(usage())
        raise SystemExit(0)
    values = {name: key.default for name, key in KEYS.items()}
    for word in argv:
        name, sep, value = word.partition("=")
        name = name.strip().lstrip("-").replace("-", "_")
        if not sep:
            raise BadInput(f"argument {word!r} is not key=value (see --help)")
        if name not in KEYS:
            raise BadInput(f"unknown key {name!r}{did_you_mean(name, KEYS)} (python -m {PROG} --help "
                           f"lists them)")
        values[name] = value.strip()
    return values


def _typed(name: str, text: str, kind: Callable):
    try:
        return kind(text)
    except ValueError:
        raise BadInput(f"{name}={text!r}: expected {'an integer' if kind is int else 'true or false'}"
                       ) from None


def _bool(text: str) -> bool:
    if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
        raise ValueError(text)
    return text.lower() in ("true", "1", "yes")


def settings_of(values: dict[str, str]) -> LatencySettings:
    """The timing settings the keys give, checked (one line each)."""
    threads = None if values["threads"].lower() in ("null", "none", "") else \
        _typed("threads", values["threads"], int)
    return LatencySettings(device=values["device"], runtime=values["runtime"], threads=threads,
                           precision=values["precision"],
                           **{k: _typed(k, values[k], int) for k in ("repeats", "warmup", "layouts", "seed")})


def report(table: LatencyTable, path: Path, measured: bool) -> None:
    """What the table says: where, how long, the measured extremes, calibration and errors."""
    s = table.settings
    print(f"{table.space} @ {format_resolution(table.resolution)} (padded {format_resolution(table.padded)}),"
          f" {s['device']}, threads {s['threads'] or table.machine['torch_threads']}, {s['precision']}, "
          f"{s['runtime']}: {path}")
    print(f"  {'measured' if measured else 'stored, measured'} in {table.seconds:.1f} s: "
          f"{len(table.design)} design layouts in context, {len(table.heldout)} held-out layouts whole; "
          f"median of {s['repeats']} runs after {s['warmup']} warm-up")
    print(f"  full decoder {table.full_ms:.2f} ms, smallest layout {table.smallest_ms:.2f} ms (measured)")
    print(f"  calibration: measured = {table.alpha:.4f} * sum of cells + {table.beta:.3f} ms")
    e = table.errors
    print(f"  error on {len(table.heldout)} held-out random layouts: sum of cells mean "
          f"{100 * e['plain_mean']:.1f}% max {100 * e['plain_max']:.1f}%; calibrated mean "
          f"{100 * e['calibrated_mean']:.1f}% max {100 * e['calibrated_max']:.1f}%")
    print(f"  {'held-out layout':<16} {'measured ms':>12} {'sum ms':>10} {'calibrated ms':>14} {'error':>7}")
    for i, r in enumerate(table.heldout, 1):
        print(f"  {i:<16} {r.measured_ms:12.2f} {r.sum_ms:10.2f} {r.predicted_ms:14.2f} "
              f"{100 * (r.predicted_ms - r.measured_ms) / r.measured_ms:+6.1f}%")


@cli_main
def main(args: list[str] | None = None) -> int:
    values = parse(sys.argv[1:] if args is None else list(args))
    resolution = parse_resolution(values["resolution"])
    settings = settings_of(values)
    force = _typed("force", values["force"], _bool)
    space = load_space(values["space"])
    profile_dir = Path(values["profile_dir"]) if values["profile_dir"] else PROFILE_DIR
    said = []

    def log(*words, **kwargs) -> None:  # load_or_measure_latency says when it measures
        said.append(words)
        print(*words, **kwargs)
    table = load_or_measure_latency(space, resolution, settings, profile_dir, log=log, force=force)
    report(table, latency_path(space, resolution, settings, profile_dir), measured=bool(said))
    return 0


if __name__ == "__main__":
    main()
