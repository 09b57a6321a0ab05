"""Checkpoints: written atomically, found again after a kill, and checked against the model they load into.

Our checkpoints are dicts ``{"format": "cgslim-search/1", "codec", "layout", "model", "step", ...}``;
a public checkpoint is a plain state dict (optionally under ``state_dict`` or with ``module.``
prefixes), which must match the model's keys and shapes strictly.
"""
from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any, Mapping

import torch

from ..errors import BadInput
from ..files import atomic_write

FORMAT = "cgslim-search/1"
_STEP = re.compile(r"step_(\d+)\.pt$")


def save_checkpoint(path: Path | str, payload: Mapping[str, Any]) -> Path:
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, **payload}, buffer)
    return atomic_write(path, buffer.getvalue())


def checkpoint_name(step: int) -> str:
    return f"step_{step:08d}.pt"


def latest_checkpoint(folder: Path | str) -> Path | None:
    """The newest ``step_*.pt`` in ``folder`` (complete by construction: files are renamed into place)."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    found = [(int(m[1]), p) for p in folder.iterdir() if (m := _STEP.search(p.name))]
    return max(found)[1] if found else None


def prune(folder: Path | str, keep: int = 2) -> None:
    found = sorted((int(m[1]), p) for p in Path(folder).iterdir() if (m := _STEP.search(p.name)))
    for _, path in found[:-keep]:
        path.unlink(missing_ok=True)


def read_checkpoint(path: Path | str) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"checkpoint={path}: no such file")
    try:
        data = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # noqa: BLE001 - any unreadable file is the user's input problem
        raise BadInput(f"checkpoint={path}: not a readable PyTorch checkpoint ({type(err).__name__})") from None
    if isinstance(data, dict) and data.get("format") == FORMAT:
        return data
    if isinstance(data, dict) and isinstance(data.get("state_dict"), dict):
        data = data["state_dict"]
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise BadInput(f"checkpoint={path}: neither one of ours nor a state dict of tensors")
    return {"model": {k.removeprefix("module."): v for k, v in data.items()}}


def load_model_state(model: torch.nn.Module, checkpoint: Mapping[str, Any], path: Path | str,
                     codec: str, layout: Mapping[str, int]) -> None:
    """Load strictly; a checkpoint for another codec or layout is refused naming both."""
    their_codec = checkpoint.get("codec")
    if their_codec is not None and their_codec != codec:
        raise BadInput(f"checkpoint={path} is for codec {their_codec!r}, not {codec!r}")
    their_layout = checkpoint.get("layout")
    if their_layout is not None and dict(their_layout) != dict(layout):
        diff = [k for k in layout if their_layout.get(k) != layout[k]]
        raise BadInput(f"checkpoint={path} is for another layout of {codec!r}: e.g. {diff[0]!r} is "
                       f"{their_layout.get(diff[0])} there, {layout[diff[0]]} here")
    state = checkpoint["model"]
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        what = f"missing {missing[0]!r}" if missing else f"unexpected {unexpected[0]!r}"
        raise BadInput(f"checkpoint={path} does not fit codec {codec!r} ({len(missing)} keys missing, "
                       f"{len(unexpected)} unexpected; {what})")
    for key, value in state.items():
        if tuple(value.shape) != tuple(own[key].shape):
            raise BadInput(f"checkpoint={path} is for another layout of {codec!r}: {key!r} has shape "
                           f"{tuple(value.shape)}, this model has {tuple(own[key].shape)}")
    model.load_state_dict(state, strict=True)
