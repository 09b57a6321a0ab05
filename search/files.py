"""Reading YAML strictly, and writing result files atomically with the user's umask.

Every file this project writes goes through :func:`atomic_write`: a temporary file beside the target,
then a rename, so a kill never leaves a half-written file; the file gets the permissions any new file
of the user gets (``0666`` less the umask), so colleagues and cluster jobs can read results.
"""
from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import yaml

from .errors import BadInput

_UMASK_LOCK = threading.Lock()


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a mapping with the same key twice (plain PyYAML keeps the last)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise BadInput(f"duplicated key {key!r} (line {key_node.start_mark.line + 1})")
        seen[key] = loader.construct_object(value_node, deep=deep)
    return seen


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: Path | str) -> Any:
    """Parse a YAML file; any problem is a :class:`BadInput` naming the file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise BadInput(f"{path}: cannot read ({err.strerror})") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except BadInput as err:
        raise BadInput(f"{path}: {err}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise BadInput(f"{path}: malformed YAML{where}: {getattr(err, 'problem', err)}") from None


def dump_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)


def current_umask() -> int:
    """The process's umask (reading it means setting it: done under a lock, restored at once)."""
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def atomic_write(path: Path | str, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename; mode ``0666 & ~umask``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes it 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
