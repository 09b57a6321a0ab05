"""Codecs by name: ``codecs/<name>.py`` files, loaded by path.

``codecs`` is a standard-library module name, so the folder cannot be a package; codec files are loaded
by path (importlib), which also lets a user point ``codec_dir`` at a folder of their own. A codec file
defines one subclass of :class:`~search.codec.base.Codec` and names it ``CODEC``.
"""
from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path

from ..errors import BadInput
from ..paths import CODEC_DIR
from .base import Codec


def available_codecs(codec_dir: Path = CODEC_DIR) -> list[str]:
    return sorted(p.stem for p in Path(codec_dir).glob("*.py") if not p.stem.startswith("_"))


def codec_file(name: str, codec_dir: Path = CODEC_DIR) -> Path:
    path = Path(codec_dir) / f"{name}.py"
    if not path.is_file():
        raise BadInput(f"unknown codec {name!r}: no file {path}; available: "
                       f"{', '.join(available_codecs(codec_dir)) or 'none'}")
    return path


def load_codec(name: str, codec_dir: Path = CODEC_DIR) -> type[Codec]:
    """The ``CODEC`` class of ``<codec_dir>/<name>.py``."""
    path = codec_file(name, codec_dir)
    module_name = f"_search_codecs.{name}"
    module = sys.modules.get(module_name)
    if module is None or getattr(module, "__file__", None) != str(path):
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    cls = getattr(module, "CODEC", None)
    if not (isinstance(cls, type) and issubclass(cls, Codec)):
        raise BadInput(f"{path}: defines no CODEC (a subclass of search.codec.Codec)")
    return cls


def provenance_line(codec: type[Codec]) -> str:
    """Where the codec comes from, in one line (its ``PROVENANCE``)."""
    return codec.PROVENANCE.line() if codec.PROVENANCE else "provenance not given"


def codec_list(codec_dir: Path = CODEC_DIR) -> str:
    """Every codec file with what it codes and where it comes from: what ``--help`` prints."""
    lines = [f"codecs ({Path(codec_dir).name}/<name>.py; a space names one):"]
    for name in available_codecs(codec_dir):
        codec = load_codec(name, codec_dir)
        lines.append(f"  {name:<8} {codec.CODES:<8} {provenance_line(codec)}")
    return "\n".join(lines)


def file_hash(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
