"""How a training stage ended: ``stage.json`` beside the stage's ``checkpoints/``.

A stage that ended, by its step count or by its time limit, is finished: the record says so, with the
step it reached, its training seconds and the sha256 of its last checkpoint (the weights every later
step of the pipeline uses). Running the same command again never trains a finished stage again; only
an explicit extension (``extend=``) does, and it marks the record unfinished first, so that a kill during
the extension resumes like any stage killed mid-way. No record, or ``finished: false``: the stage was
killed mid-way and resumes from its newest checkpoint.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import BadInput
from ..files import atomic_write

RECORD = "stage.json"


@dataclass
class StageRecord:
    finished: bool
    ended_by: str  # "steps" or "time_limit" ("" while an extension runs)
    steps: int  # the step the stage reached
    planned_steps: int  # its step budget
    seconds: float  # training seconds, every session's steps together
    checkpoint: str  # the last checkpoint's file name, in checkpoints/
    weights_sha256: str  # of that file


def file_sha256(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_stage(folder: Path | str) -> StageRecord | None:
    """The record of the stage trained in ``folder``, or None (never finished, or an older run)."""
    path = Path(folder) / RECORD
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        return StageRecord(**{k: data[k] for k in StageRecord.__dataclass_fields__})
    except (ValueError, KeyError, TypeError):
        raise BadInput(f"{path}: not a stage record (expected the keys "
                       f"{', '.join(StageRecord.__dataclass_fields__)}); move it away to resume the "
                       f"stage from its newest checkpoint") from None


def write_stage(folder: Path | str, record: StageRecord) -> Path:
    """Written atomically (a temp file, then a rename)."""
    return atomic_write(Path(folder) / RECORD, json.dumps(asdict(record), indent=1) + "\n")


def mark_extending(folder: Path | str) -> StageRecord | None:
    """A finished stage about to be trained on: its record says unfinished from now on."""
    record = read_stage(folder)
    if record is not None and record.finished:
        record.finished, record.ended_by = False, ""
        write_stage(folder, record)
    return record


def set_aside(folder: Path, names: list[str], tag: str) -> Path | None:
    """Move ``names`` of ``folder`` that exist into ``folder/previous-<tag>/`` (kept, never deleted):
    outputs of weights that an extension replaces."""
    present = [folder / name for name in names if (folder / name).exists()]
    if not present:
        return None
    target = folder / f"previous-{tag}"
    k = 1
    while target.exists():
        k += 1
        target = folder / f"previous-{tag}-{k}"
    target.mkdir(parents=True)
    for path in present:
        shutil.move(str(path), str(target / path.name))
    return target
