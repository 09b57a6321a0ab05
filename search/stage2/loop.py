"""The stage-2 training loop every selector runs: its step's randomness from the seed and the step,
checkpoints, resuming, the time limit and the progress bar (:class:`search.training.TrainingLoop`)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch

from ..config import SupernetConfig, TrainingConfig
from ..training import LoopConfig, Runtime, TrainingLoop


def step_generator(seed: int, step: int) -> torch.Generator:
    """The generator of step ``step``'s level and noise (the same after a resume, and in every process
    of a distributed run)."""
    return torch.Generator().manual_seed(int(np.random.SeedSequence([seed, step, 2]).generate_state(1)[0]))


def run_stage2_loop(step: Any, modules: Mapping[str, torch.nn.Module], training: TrainingConfig,
                    cfg: SupernetConfig, out: Path, *, desc: str, levels: int, meta: Mapping[str, Any],
                    runtime: Runtime, extend: bool) -> None:
    """Train (or resume, or load once finished) a stage-2 ``step`` in ``out``: its checkpoints hold
    ``modules``; its progress bar shows the loss, PSNR and each level's figure. ``step`` has an
    ``optimizer``, a ``scaler`` and ``batches`` (closed however it ends), and maps a step number to
    the step's figures."""
    bar_keys = ("loss", "psnr") + tuple(f"L{i + 1}" for i in range(levels))
    loop = TrainingLoop(LoopConfig(steps=cfg.steps, out=out, time_limit=cfg.time_limit,
                                   checkpoint_every=training.checkpoint_every, desc=desc,
                                   bar_keys=bar_keys, meta=dict(meta), stage="stage2", extend=extend),
                        dict(modules), step.optimizer, runtime=runtime, scaler=step.scaler)
    if loop.resume() and runtime.is_main and loop.finished is None:
        print(f"resuming {out} from step {loop.start_step}")
    try:
        loop.run(step)
    finally:
        step.batches.close()
