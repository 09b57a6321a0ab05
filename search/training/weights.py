"""A codec with the weights of a checkpoint: ours (stage 1, the supernet, an export) or a public one.

A full-width checkpoint serves any layout of its space: the codec built at the layout takes the leading
channels of each weight (:func:`search.nn.layers.load_sliced`, cgSlimDecoder's weight inheritance).
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import torch

from ..codec import Codec
from ..nn.layers import load_sliced
from ..space import Space
from .checkpoint import load_model_state, read_checkpoint


def model_state(checkpoint: dict) -> dict:
    """Our training checkpoints keep the codec under ``modules.model``; exports and public
    checkpoints are the state dict itself (``model``)."""
    if "modules" in checkpoint:
        return {**checkpoint, "model": checkpoint["modules"]["model"]}
    return checkpoint


def codec_with_weights(space: Space, layout: Mapping[str, int], checkpoint: str | Path = "") -> Codec:
    """The codec built at ``layout``, with ``checkpoint``'s weights loaded strictly (none: as built)."""
    model = space.codec(dict(layout))
    if checkpoint:
        load_model_state(model, model_state(read_checkpoint(checkpoint)), checkpoint,
                         space.codec_name, dict(layout))
    return model


def start_codec(model: Codec, start: str) -> Codec:
    """``model`` (just built) with the initial values ``start=`` asks for: ``copy`` applies the codec's
    ``start_as_copy`` where it has one (the P-frame path then copies the reference before any
    training); ``public`` keeps the public code's initialisation. Returns ``model``."""
    if start == "copy" and hasattr(model, "start_as_copy"):
        model.start_as_copy()
    return model


def codec_at_layout(space: Space, layout: Mapping[str, int], checkpoint: str | Path = "") -> Codec:
    """The codec at ``layout`` in eval mode, with ``checkpoint``'s weights: loaded as they are when
    they fit the layout, sliced when they are a full-width checkpoint of a slimmer layout."""
    layout = dict(layout)
    if not checkpoint:
        return space.codec(layout).eval()
    state = model_state(read_checkpoint(checkpoint))
    full = space.full_layout()
    saved_layout = state.get("layout")
    if layout != full and (saved_layout is None or dict(saved_layout) == full) and \
            _fits(space.codec(full), state["model"]):
        source = space.codec(full)
        load_model_state(source, state, checkpoint, space.codec_name, full)
        return load_sliced(space.codec(layout), source).eval()
    model = space.codec(layout)
    load_model_state(model, state, checkpoint, space.codec_name, layout)
    return model.eval()


def _fits(model: torch.nn.Module, state: dict) -> bool:
    own = model.state_dict()
    return set(own) == set(state) and all(own[k].shape == state[k].shape for k in own)
