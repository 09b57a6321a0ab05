"""Stage-2 selectors by name: ``selector=<name>`` picks one. A new selector is a module defining a
:class:`~search.stage2.protocol.Selector`, one line here (or :func:`register_selector` from anywhere),
and, if it has keys of its own, its section in the configuration tree and its flat keys."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from ..complexity import Cost
from ..config import Config
from ..data import Clips
from ..errors import BadInput
from ..space import Space
from .gumbel import SELECTOR as GUMBEL
from .mask_decay import SELECTOR as MASK_DECAY
from .protocol import Selector, Stage2Net

SELECTORS: dict[str, Selector] = {s.name: s for s in (GUMBEL, MASK_DECAY)}


def register_selector(selector: Selector) -> Selector:
    """Make ``selector=<selector.name>`` run ``selector`` (a name already taken is an error)."""
    if selector.name in SELECTORS and SELECTORS[selector.name] is not selector:
        raise ValueError(f"a stage-2 selector named {selector.name!r} is already registered")
    SELECTORS[selector.name] = selector
    return selector


def selector_named(name: str) -> Selector:
    if name not in SELECTORS:
        raise BadInput(f"selector={name!r}: expected one of "
                       + ", ".join(f"{s.name} ({s.description})" for s in SELECTORS.values()))
    return SELECTORS[name]


def check_stage2(cfg: Config, space: Space, interpolate: Sequence[float] = ()) -> Selector:
    """``selector=`` and every selector's settings, then whether the chosen one takes this space and
    these targets: one line naming the key, before any training."""
    chosen = selector_named(cfg.supernet.selector)
    for selector in SELECTORS.values():
        selector.check_settings(cfg)
    chosen.check_space(cfg, space, interpolate)
    return chosen


def train_stage2(space: Space, cost: Cost, stage1_weights: str, targets: list[float],
                 clips: Clips | Any, cfg: Config, out: Path, **kwargs: Any) -> Stage2Net:
    """Stage 2 by the configured selector (see :data:`search.stage2.protocol.Train`)."""
    return selector_named(cfg.supernet.selector).train(space, cost, stage1_weights, targets, clips,
                                                       cfg, out, **kwargs)
