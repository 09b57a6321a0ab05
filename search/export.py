"""Export a chosen architecture as a training config: ``layouts/<name>.yaml`` and ``weights/<name>.pt``.

Issue 5, section 4: the layout file of :mod:`search.layout` plus ``codec_args`` (the codec's constructor
arguments, so that the YAML alone rebuilds exactly that decoder) and what a trainer needs (codec, space,
resolution, GMACs, training preset and lambda when known); the weights are the state dict of the codec
built at the layout, sliced from the supernet's full-width shared weights (:func:`search.slim.load_sliced`,
the cgSlimDecoder's weight inheritance). Round trip (tested): :func:`load_architecture` gives a model whose
fvcore GMACs equal the file's ``gmacs`` and whose output equals the supernet's under that layout's masks,
and ``python -m search.train layout=layouts/<name>.yaml checkpoint=weights/<name>.pt`` fine-tunes it.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import torch

from .checkpoint import load_model_state, read_checkpoint
from .codec import Codec
from .errors import BadInput
from .layout import LayoutFile, load_layout
from .slim import load_sliced
from .space import SPACE_DIR, Space, load_space
from .yamlio import atomic_write, read_yaml

#: keys of a layout file that ``extra`` may not override
RESERVED = ("codec", "space", "name", "resolution", "gmacs", "macs", "layout", "codec_args")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+=-]*")


@dataclass(frozen=True)
class Exported:
    """Where an exported architecture was written."""

    name: str
    layout_path: Path
    weights_path: Path
    gmacs: float | None


def space_reference(space: Space) -> str:
    """How a layout file names its space: the bare name for ``spaces/<name>.yaml``, else the file's
    absolute path (``load_space`` accepts both)."""
    try:
        if Path(space.path).resolve() == (SPACE_DIR / f"{space.name}.yaml").resolve():
            return space.name
    except OSError:
        pass
    return str(Path(space.path).resolve())


def codec_args(space: Space, layout: Mapping[str, int]) -> dict[str, Any]:
    """The keyword arguments of ``space.codec(...)`` that build the codec at ``layout``: every codec of
    this project is constructed from its layout alone (:class:`search.codec.Codec`)."""
    return {"layout": {k: int(layout[k]) for k in space.layers}}


def state_dict_bytes(state: Mapping[str, torch.Tensor]) -> bytes:
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu().clone() for k, v in state.items()}, buffer)
    return buffer.getvalue()


def export_architecture(space: Space, layout: Mapping[str, int], full_codec: Codec, out_dir: Path | str,
                        name: str, resolution: tuple[int, int], gmacs: float | None,
                        extra: Mapping[str, Any] | None = None) -> Exported:
    """Write ``<out_dir>/layouts/<name>.yaml`` and ``<out_dir>/weights/<name>.pt`` (both atomically).

    ``layout`` may leave fixed layers out; it is validated against ``space`` (widths among the options,
    ties kept). ``full_codec`` is the full-width (shared-weight) codec the weights are sliced from; its
    masks are left as they are. ``extra`` adds keys for trainers (e.g. ``preset``, ``lambda``,
    ``target_gmacs``, ``rd_loss``); it may not override the layout file's own keys. ``gmacs`` (the
    closed form at ``resolution``) is written rounded to 1e-6 and exactly as the integer ``macs``.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise BadInput(f"architecture name {name!r}: use letters, digits and _ . @ + = - "
                       f"(it becomes a file name)")
    extra = dict(extra or {})
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
    args = codec_args(space, full)
    small = load_sliced(space.codec(**args), full_codec)
    out_dir = Path(out_dir)
    weights_path = atomic_write(out_dir / "weights" / f"{name}.pt", state_dict_bytes(small.state_dict()))
    exact = {} if gmacs is None else {"macs": int(round(float(gmacs) * 1e9))}  # gmacs is rounded
    info = LayoutFile(codec=space.codec_name, space=space_reference(space), layout=full,
                      resolution=tuple(resolution), gmacs=gmacs, name=name,
                      extra={**exact, **extra, "codec_args": args})
    layout_path = info.save(out_dir / "layouts" / f"{name}.yaml")
    return Exported(name, layout_path, weights_path, None if gmacs is None else float(gmacs))


def read_architecture(yaml_path: Path | str) -> tuple[Space, LayoutFile, dict[str, Any]]:
    """The space a layout file names, the validated file, and the codec's constructor arguments
    (``codec_args``, or ``{"layout": ...}`` for a plain layout file)."""
    data = read_yaml(yaml_path)
    if not isinstance(data, dict) or not isinstance(data.get("space", ""), str):
        raise BadInput(f"{yaml_path}: a layout file is a mapping with 'codec', 'space' and 'layout'")
    space = load_space(data.get("space") or data.get("codec") or "")
    info = load_layout(yaml_path, space)
    args = info.extra.get("codec_args")
    if args is None:
        args = codec_args(space, info.layout)
    if not isinstance(args, dict):
        raise BadInput(f"{yaml_path}: 'codec_args' must be a mapping of {space.codec_name}'s "
                       f"constructor arguments (e.g. layout)")
    args = dict(args)
    if "layout" in args:
        if not isinstance(args["layout"], dict):
            raise BadInput(f"{yaml_path}: codec_args.layout must be a mapping layer: width")
        merged = {**space.full_layout(), **args["layout"]}
        if merged != info.layout:
            diff = next(k for k in info.layout if merged.get(k) != info.layout[k])
            raise BadInput(f"{yaml_path}: codec_args.layout and layout disagree on {diff!r} "
                           f"({merged.get(diff)} vs {info.layout[diff]})")
        args["layout"] = merged
    else:
        args["layout"] = dict(info.layout)
    return space, info, args


def load_architecture(yaml_path: Path | str, weights_path: Path | str | None = None) -> Codec:
    """Rebuild the codec of an exported layout file (loading the space it names) and, given
    ``weights_path``, load those weights strictly (keys and shapes must match exactly). Eval mode."""
    space, info, args = read_architecture(yaml_path)
    try:
        model = space.codec(**args)
    except TypeError as err:
        raise BadInput(f"{yaml_path}: codec_args do not fit codec {space.codec_name!r} "
                       f"({err})") from None
    if weights_path is not None:
        load_model_state(model, read_checkpoint(weights_path), weights_path, space.codec_name,
                         info.layout)
    return model.eval()
