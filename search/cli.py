"""``key=value`` command lines over dataclass configs (OmegaConf structured configs).

Each command declares a dataclass whose fields are its keys; their ``metadata["help"]`` is what
``--help`` prints. An unknown key names the closest valid ones; a value of the wrong type names the
key and the type expected. Both are one line, exit status 2 (:mod:`search.errors`).
"""
from __future__ import annotations

import dataclasses
import difflib
import sys
from typing import Any, Sequence, TypeVar

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from .errors import BadInput

T = TypeVar("T")


def option(default: Any, help: str, **kwargs) -> Any:
    """A config field with its ``--help`` text."""
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: type(default)(default),
                                 metadata={"help": help}, **kwargs)
    return dataclasses.field(default=default, metadata={"help": help}, **kwargs)


def usage(schema: type, prog: str, summary: str) -> str:
    lines = [f"usage: python -m {prog} [key=value ...]", "", summary, "", "keys:"]
    for f in dataclasses.fields(schema):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        lines.append(f"  {f.name}={_show(default)}")
        lines.append(f"      {f.metadata.get('help', '')}")
    return "\n".join(lines)


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "[" + ",".join(str(v) for v in value) + "]"
    return str(value)


def parse(schema: type[T], argv: Sequence[str], prog: str, summary: str) -> T:
    """Parse ``argv`` (``key=value`` words, or ``--help``) into an instance of ``schema``."""
    if any(a in ("-h", "--help", "help") for a in argv):
        print(usage(schema, prog, summary))
        raise SystemExit(0)
    names = [f.name for f in dataclasses.fields(schema)]
    # a str key takes its value verbatim (OmegaConf would read resolution=0x0 as the hex int 0)
    verbatim = {f.name for f in dataclasses.fields(schema) if f.type in (str, "str")}
    pairs, strings = [], {}
    for word in argv:
        key, sep, value = word.partition("=")
        key = key.strip().lstrip("-").replace("-", "_")
        if not sep:
            raise BadInput(f"argument {word!r} is not key=value (see --help)")
        if key not in names:
            close = difflib.get_close_matches(key, names, n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise BadInput(f"unknown key {key!r}{hint} (python -m {prog} --help lists them)")
        if key in verbatim:
            strings[key] = value
        else:
            pairs.append(f"{key}={value}")
    base = OmegaConf.structured(schema)
    try:
        merged = OmegaConf.merge(base, OmegaConf.from_dotlist(pairs), OmegaConf.create(strings))
        return OmegaConf.to_object(merged)
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", None) or "?"
        message = str(err).splitlines()[0]
        raise BadInput(f"bad value for {key}: {message}") from None


def argv() -> list[str]:
    return sys.argv[1:]


def normalise(words: Sequence[str], list_keys: Sequence[str] = (),
              aliases: dict[str, str] | None = None) -> list[str]:
    """Command-line conveniences before :func:`parse`: ``lambda=`` for the field ``lmbda`` (a Python
    keyword cannot be a field), and a scalar for a list key (``target_gmacs=150`` is ``[150]``)."""
    aliases = {"lambda": "lmbda", **(aliases or {})}
    out = []
    for word in words:
        key, sep, value = word.partition("=")
        key = aliases.get(key, key)
        if sep and key in list_keys and not value.strip().startswith("["):
            value = f"[{value}]"
        out.append(f"{key}{sep}{value}")
    return out
