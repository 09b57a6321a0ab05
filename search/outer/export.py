"""Export a chosen architecture as a training config: ``layouts/<name>.yaml`` and ``weights/<name>.pt``.

The layout file (:mod:`search.space.layout`) names its codec and space, so the YAML alone rebuilds
exactly that decoder, and carries what a trainer needs (resolution, GMACs and exact MACs, training
preset and lambda when known); the weights are the state dict of the codec built at the layout: the
model that was measured when one is given (the main job's fine-tuned decoder; the slice of the shared
weights it started from is kept beside it as ``weights/<name>.shared.pt``), else sliced from the
supernet's full-width shared weights (:func:`search.nn.layers.load_sliced`, cgSlimDecoder's weight
inheritance), or, after mask decay, the kept channels of the merged weights. Round trip (tested): :func:`load_architecture` gives a model whose fvcore GMACs
equal the file's ``gmacs`` and whose output equals the supernet's under that layout's masks, and
``python -m search.train layout=layouts/<name>.yaml checkpoint=weights/<name>.pt`` fine-tunes it.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import torch

from ..codec import Codec
from ..errors import BadInput
from ..files import atomic_write
from ..nn.layers import Keep, load_sliced
from ..space import LayoutFile, Space, open_layout, space_reference
from ..space.layout import OWN_KEYS
from ..training import load_model_state, read_checkpoint

#: keys of a layout file that ``extra`` may not override
RESERVED = OWN_KEYS + ("macs",)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+=-]*")


@dataclass(frozen=True)
class Exported:
    """Where an exported architecture was written."""

    name: str
    layout_path: Path
    weights_path: Path
    gmacs: float | None


def state_dict_bytes(state: Mapping[str, torch.Tensor]) -> bytes:
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu().clone() for k, v in state.items()}, buffer)
    return buffer.getvalue()


def _check_export(space: Space, layout: Mapping[str, int], full_codec: Codec, name: str,
                  extra: Mapping[str, Any]) -> dict[str, int]:
    """The whole layout (fixed layers at full width), checked against the space and the weights."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise BadInput(f"architecture name {name!r}: use letters, digits and _ . @ + = - "
                       f"(it becomes a file name)")
    clash = [k for k in extra if k in RESERVED]
    if clash:
        raise BadInput(f"export {name}: extra key {clash[0]!r} is reserved by the layout file "
                       f"({', '.join(RESERVED)})")
    full = {**space.full_layout(), **{k: int(v) for k, v in layout.items()}}
    space.check_layout(full, f"export {name}")
    space.choice_of(full)  # ties
    if type(full_codec) is not space.codec:
        raise BadInput(f"export {name}: the weights come from a {type(full_codec).__name__}, the space "
                       f"{space.name!r} is for codec {space.codec_name!r}")
    return full


def export_architecture(space: Space, layout: Mapping[str, int], full_codec: Codec, out_dir: Path | str,
                        name: str, resolution: tuple[int, int], gmacs: float | None,
                        extra: Mapping[str, Any] | None = None, keep: Keep | None = None,
                        model: Codec | None = None) -> Exported:
    """Write ``<out_dir>/layouts/<name>.yaml`` and ``<out_dir>/weights/<name>.pt`` (both atomically).

    ``layout`` may leave fixed layers out; it is validated against ``space`` (widths among the options,
    ties kept). ``full_codec`` is the full-width (shared-weight) codec the weights are sliced from; its
    masks are left as they are. ``extra`` adds keys for trainers (e.g. ``preset``, ``lambda``,
    ``target_gmacs``, ``rd_loss``); it may not override the layout file's own keys. ``gmacs`` (the
    closed form at ``resolution``) is written rounded to 1e-6 and exactly as the integer ``macs``.
    ``model``: the codec at ``layout`` whose weights were measured (fine-tuned); its weights are the
    export, and the shared-weights slice goes to ``weights/<name>.shared.pt``.
    """
    extra = dict(extra or {})
    full = _check_export(space, layout, full_codec, name, extra)
    small = load_sliced(space.codec(full), full_codec, keep)
    out_dir = Path(out_dir)
    if model is not None:
        _check_model(small, model, name)
        atomic_write(out_dir / "weights" / f"{name}.shared.pt", state_dict_bytes(small.state_dict()))
        small = model
    weights_path = atomic_write(out_dir / "weights" / f"{name}.pt", state_dict_bytes(small.state_dict()))
    exact = {} if gmacs is None else {"macs": int(round(float(gmacs) * 1e9))}  # gmacs is rounded
    info = LayoutFile(codec=space.codec_name, space=space_reference(space), layout=full,
                      resolution=tuple(resolution), gmacs=gmacs, name=name, extra={**exact, **extra})
    layout_path = info.save(out_dir / "layouts" / f"{name}.yaml")
    return Exported(name, layout_path, weights_path, None if gmacs is None else float(gmacs))


def _check_model(built: Codec, model: Codec, name: str) -> None:
    """``model`` must be the codec of the exported layout (same keys, same shapes)."""
    mine, theirs = built.state_dict(), model.state_dict()
    wrong = [k for k in mine if k not in theirs or theirs[k].shape != mine[k].shape]
    if type(model) is not type(built) or wrong or len(mine) != len(theirs):
        raise BadInput(f"export {name}: the given model is not the codec of its layout "
                       f"({wrong[0] if wrong else type(model).__name__})")


def load_architecture(yaml_path: Path | str, weights_path: Path | str | None = None) -> Codec:
    """Rebuild the codec of an exported layout file (loading the space it names) and, given
    ``weights_path``, load those weights strictly (keys and shapes must match exactly). Eval mode."""
    space, info = open_layout(yaml_path)
    model = info.build(space)
    if weights_path is not None:
        load_model_state(model, read_checkpoint(weights_path), weights_path, space.codec_name,
                         info.layout)
    return model.eval()
