"""``key=value`` command lines onto the configuration tree (an OmegaConf structured config).

Each command declares a :class:`Command`: its flat keys (``steps``, ``lr``, ``eval_gops``...) and the
field of the tree each one sets (``supernet.steps``, ``training.lr``, ``eval.max_gops``); the dotted
path works as a key too. ``--help`` lists the flat keys with their defaults and the fields' help. An
unknown key names the closest valid ones; a value of the wrong type names the key and the type
expected. Both are one line, exit status 2 (:mod:`search.errors`).

Conveniences: ``lambda=`` for the field ``lmbda`` (a Python keyword cannot be a field), and a scalar
for a list key (``target_gmacs=150`` is ``[150]``).
"""
from __future__ import annotations

import dataclasses
import difflib
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ..errors import BadInput
from .schema import Config, field_of

ALIASES = {"lambda": "lmbda"}


@dataclass(frozen=True)
class Command:
    """What a command accepts: ``keys`` maps each flat key to its field's dotted path;
    ``defaults`` are this command's own defaults (dotted path -> value) over the tree's."""

    prog: str
    summary: str
    keys: Mapping[str, str]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    #: more ``--help`` text after the keys (called when printed: e.g. the codecs and where they come from)
    epilog: Callable[[], str] | None = None

    def path_of(self, key: str) -> str:
        key = ALIASES.get(key, key)
        if key in self.keys:
            return self.keys[key]
        if key in self.keys.values():
            return key
        close = difflib.get_close_matches(key, list(self.keys), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise BadInput(f"unknown key {key!r}{hint} (python -m {self.prog} --help lists them)")


def keys(*specs: str) -> dict[str, str]:
    """Flat keys in ``--help`` order: ``name`` is a top-level field, ``name=section.field`` maps into
    a section."""
    out = {}
    for spec in specs:
        name, _, path = spec.partition("=")
        out[name] = path or name
    return out


def usage(command: Command) -> str:
    lines = [f"usage: python -m {command.prog} [key=value ...]", "", command.summary, "",
             "keys (a key may also be written as its section.field, e.g. training.lr=1e-4):"]
    defaults = _default_tree(command)
    for key, path in command.keys.items():
        lines.append(f"  {key}={_show(OmegaConf.select(defaults, path))}")
        lines.append(f"      {field_of(path).metadata.get('help', '')}")
    if command.epilog is not None:
        lines += ["", command.epilog()]
    return "\n".join(lines)


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if OmegaConf.is_list(value) or isinstance(value, list):
        return "[" + ",".join(str(v) for v in value) + "]"
    return str(value)


def _default_tree(command: Command):
    tree = OmegaConf.structured(Config)
    for path, value in command.defaults.items():
        OmegaConf.update(tree, path, value, merge=False)
    return tree


def _is_str(path: str) -> bool:
    return field_of(path).type in (str, "str")


def _split(word: str) -> tuple[str, str]:
    key, sep, value = word.partition("=")
    key = key.strip().lstrip("-").replace("-", "_")
    if not sep:
        raise BadInput(f"argument {word!r} is not key=value (see --help)")
    return key, value


def parse(command: Command, argv: Sequence[str]) -> Config:
    """``argv`` (``key=value`` words, or ``--help``) over the command's defaults, as a :class:`Config`."""
    if any(a in ("-h", "--help", "help") for a in argv):
        print(usage(command))
        raise SystemExit(0)
    pairs, verbatim, spelled = [], {}, {}
    for word in argv:
        key, value = _split(word)
        path = command.path_of(key)
        spelled[path] = key
        if _is_str(path):  # taken verbatim: OmegaConf would read resolution=0x0 as the hex int 0
            verbatim[path] = value
            continue
        if OmegaConf.is_list(OmegaConf.select(_default_tree(command), path)) and \
                not value.strip().startswith("["):
            value = f"[{value}]"
        pairs.append(f"{path}={value}")
    try:
        tree = _default_tree(command)
        tree = OmegaConf.merge(tree, OmegaConf.from_dotlist(pairs))
        for path, value in verbatim.items():
            OmegaConf.update(tree, path, value, merge=False)
        return OmegaConf.to_object(tree)
    except OmegaConfBaseException as err:
        path = getattr(err, "full_key", None) or "?"
        message = str(err).splitlines()[0]
        raise BadInput(f"bad value for {spelled.get(path, path)}: {message}") from None


def argv() -> list[str]:
    return sys.argv[1:]


def to_yaml(cfg: Config) -> str:
    """The tree as ``config.yaml`` writes it."""
    return OmegaConf.to_yaml(OmegaConf.structured(cfg))


def to_dict(cfg: Config) -> dict[str, Any]:
    return dataclasses.asdict(cfg)
