"""The training loop shared by stage 1 (:mod:`search.training.stage1`) and stage 2
(:mod:`search.stage2.loop`).

It owns what every long run needs and nothing codec-specific: atomic checkpoints every N steps, resume
from the newest one after a kill (losing at most the steps since it), a tqdm bar with the figures that
matter, a CSV log of the same figures, a step budget and an optional wall-clock budget.

Steps are deterministic given the seed: a step's batch and its quantisation noise are drawn from the
step index (see :class:`search.training.batches.StepBatches`), and the torch RNG state is saved in
each checkpoint too.

In a distributed run (``torchrun``) every process runs the loop and resumes from the same checkpoint;
rank 0 alone writes checkpoints, ``log.csv`` and ``config.yaml``; a time limit stops every process at
the same step; the figures logged are the global batch's (averaged over the processes by the step).
"""
from __future__ import annotations

import csv
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from tqdm import tqdm

from .checkpoint import checkpoint_name, latest_checkpoint, prune, read_checkpoint, save_checkpoint
from .runtime import Runtime
from .stages import StageRecord, file_sha256, mark_extending, read_stage, write_stage
from ..errors import BadInput
from ..files import atomic_write, dump_yaml

# names atomic_write gives its temp files (tempfile.mkstemp(prefix=".<name>.")) in a run's folders
_STALE_CKPT = re.compile(r"^\.step_\d+\.pt\.")
_STALE_RUN = re.compile(r"^\.(log\.csv|config\.yaml|stage\.json)\.")


@dataclass
class LoopConfig:
    steps: int
    out: Path
    checkpoint_every: int = 50
    time_limit: float | None = None  # seconds; stops early (after a checkpoint) when reached
    desc: str = "train"
    bar_keys: tuple[str, ...] = ("loss", "bpp", "psnr")
    #: stored in every checkpoint (codec, layout...); its ``config`` (the run's configuration tree) is
    #: also written as ``config.yaml`` when the loop starts, once the run's inputs have loaded
    meta: dict[str, Any] = field(default_factory=dict)
    #: the ``extend=`` value that trains this stage on once finished ("": none does)
    stage: str = ""
    #: train a finished stage on (``extend=``): from its last checkpoint to ``steps``, or for a fresh
    #: ``time_limit``
    extend: bool = False


class TrainingLoop:
    """Runs ``step_fn(step) -> figures`` from the last checkpoint to ``steps``."""

    def __init__(self, cfg: LoopConfig, modules: Mapping[str, torch.nn.Module],
                 optimizer: torch.optim.Optimizer, *, runtime: Runtime | None = None,
                 scaler: torch.amp.GradScaler | None = None):
        self.cfg, self.modules, self.optimizer = cfg, dict(modules), optimizer
        self.runtime = runtime or Runtime()
        self.scaler = scaler if scaler is not None and scaler.is_enabled() else None
        self.ckpt_dir = Path(cfg.out) / "checkpoints"
        self.log_path = Path(cfg.out) / "log.csv"
        self.start_step = 0
        self.history: list[dict[str, float]] = []
        #: the record of a finished stage that this run does not train again
        self.finished: StageRecord | None = None

    def resume(self) -> int:
        """Load the newest checkpoint of this run, if any; returns the step it reached. A finished
        stage (``stage.json``) is loaded as it ended and :meth:`run` trains nothing, unless
        ``extend``."""
        record = read_stage(self.cfg.out)
        if record is not None and record.finished and not self.cfg.extend:
            self.finished = record
        if self.runtime.is_main:
            self._remove_stale_temp_files()
            if "config" in self.cfg.meta and self.finished is None:
                atomic_write(Path(self.cfg.out) / "config.yaml", dump_yaml(self.cfg.meta["config"]))
            if self.cfg.extend:
                mark_extending(self.cfg.out)
        self.runtime.barrier()  # every process has read the record before rank 0 changes it
        path = latest_checkpoint(self.ckpt_dir)
        if self.finished is not None:
            path = self._finished_checkpoint(path)
        if path is None:
            return 0
        state = read_checkpoint(path)
        for name, module in self.modules.items():
            module.load_state_dict(state["modules"][name])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scaler is not None and "scaler" in state:
            self.scaler.load_state_dict(state["scaler"])
        if self.runtime.is_main:  # the other processes keep generators seeded for their rank
            torch.set_rng_state(state["torch_rng"])
        self.start_step = int(state["step"])
        self._trim_log(self.start_step)
        return self.start_step

    def _finished_checkpoint(self, newest: Path | None) -> Path:
        """The last checkpoint of a finished stage, checked against its record."""
        record, out = self.finished, Path(self.cfg.out)
        path = self.ckpt_dir / record.checkpoint
        if newest != path or file_sha256(path) != record.weights_sha256:
            raise BadInput(f"{out / 'stage.json'} says the stage finished with {record.checkpoint} "
                           f"(sha256 {record.weights_sha256[:12]}), but {out / 'checkpoints'} holds "
                           f"{newest.name if newest else 'no checkpoint'} with other contents: give a "
                           f"fresh out= (or move stage.json away to resume from the newest checkpoint)")
        return path

    def _record(self, step: int) -> StageRecord:
        """The stage ended at ``step``: its record, written beside its checkpoints."""
        path = latest_checkpoint(self.ckpt_dir)
        record = StageRecord(finished=True, ended_by="steps" if step >= self.cfg.steps else "time_limit",
                             steps=step, planned_steps=self.cfg.steps,
                             seconds=round(sum(r.get("seconds", 0.0) for r in self.history), 3),
                             checkpoint=path.name, weights_sha256=file_sha256(path))
        write_stage(self.cfg.out, record)
        return record

    def _say_finished(self) -> None:
        record = self.finished
        how = "its step count" if record.ended_by == "steps" else "its time limit"
        again = f" (extend={self.cfg.stage} trains it on)" if self.cfg.stage else ""
        print(f"{self.cfg.desc}: finished in {self.cfg.out} at step {record.steps} of "
              f"{record.planned_steps} ({how}, {record.seconds:.0f} s of training): not trained again"
              f"{again}")

    def _remove_stale_temp_files(self) -> None:
        """Temp files of atomic writes cut short by a kill (``.step_00000040.pt.x8k2``, ``.log.csv.ab3``)."""
        for folder, pattern in ((self.ckpt_dir, _STALE_CKPT), (Path(self.cfg.out), _STALE_RUN)):
            if folder.is_dir():
                for path in folder.iterdir():
                    if pattern.match(path.name) and path.is_file():
                        path.unlink(missing_ok=True)

    def _trim_log(self, step: int) -> None:
        if not self.log_path.is_file():
            return
        with self.log_path.open() as f:
            rows = list(csv.DictReader(f))
        self.history = [{k: float(v) for k, v in r.items()} for r in rows if int(float(r["step"])) <= step]
        if len(self.history) < len(rows):  # rows of steps past the checkpoint (a kill between the writes)
            self._write_log()

    def _write_log(self) -> None:
        if not self.history or not self.runtime.is_main:
            return
        keys = list(self.history[0])
        lines = [",".join(keys)] + [",".join(f"{r.get(k, float('nan')):.6g}" for k in keys)
                                    for r in self.history]
        atomic_write(self.log_path, "\n".join(lines) + "\n")

    def save(self, step: int) -> Path:
        payload = {"step": step, "modules": {n: m.state_dict() for n, m in self.modules.items()},
                   "optimizer": self.optimizer.state_dict(), "torch_rng": torch.get_rng_state(),
                   **({"scaler": self.scaler.state_dict()} if self.scaler is not None else {}),
                   **self.cfg.meta}
        # the log first: a kill between the two writes then leaves rows past the newest checkpoint,
        # which resume trims, rather than a checkpoint whose rows are missing from the log
        self._write_log()
        path = save_checkpoint(self.ckpt_dir / checkpoint_name(step), payload)
        prune(self.ckpt_dir, keep=2)
        return path

    def run(self, step_fn: Callable[[int], Mapping[str, float]]) -> list[dict[str, float]]:
        """Train from the resumed step until ``steps`` or the time limit, then record that the stage
        ended (``stage.json``); a finished stage is not trained again."""
        if self.finished is not None:
            if self.runtime.is_main:
                self._say_finished()
            return self.history
        cfg, runtime = self.cfg, self.runtime
        started = time.perf_counter()
        bar = tqdm(total=cfg.steps, initial=self.start_step, desc=cfg.desc, dynamic_ncols=True,
                   mininterval=1.0, disable=not runtime.is_main)
        step = self.start_step
        try:
            while step < cfg.steps:
                t0 = time.perf_counter()
                figures = dict(step_fn(step))
                step += 1
                figures = {"step": step, **figures, "seconds": time.perf_counter() - t0}
                self.history.append(figures)
                bar.update(1)
                bar.set_postfix({k: f"{figures[k]:.4g}" for k in cfg.bar_keys if k in figures}
                                | {"it/s": f"{1 / max(figures['seconds'], 1e-9):.2f}"}, refresh=False)
                out_of_time = cfg.time_limit is not None and \
                    runtime.any(time.perf_counter() - started > cfg.time_limit)
                if runtime.is_main and (step % cfg.checkpoint_every == 0 or step == cfg.steps or out_of_time):
                    self.save(step)
                if out_of_time:
                    bar.total = step  # the time limit, not the step count, ended it: show the real end
                    bar.refresh()
                    if runtime.is_main:
                        bar.write(f"{cfg.desc}: time limit of {cfg.time_limit:g} s reached at step {step} "
                                  f"of {cfg.steps}")
                    break
        finally:
            bar.close()
        if runtime.is_main:
            self._record(step)
        runtime.barrier()  # the other processes go on once rank 0 has written the last checkpoint
        return self.history
