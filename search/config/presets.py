"""Presets: what a configuration leaves unset, filled from the preset and the codec, then checked.

``quick`` trains on the bundled clips at small crops on 2 CPU cores in minutes; ``paper`` is the
papers' GPU settings. A codec class may carry ``QUICK`` and ``PAPER`` dicts that override the table
below for itself (its crop multiple, its papers' learning rate and lambda).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from ..errors import BadInput
from .schema import Config

PRESETS = ("quick", "paper")
#: the papers' rate points (DVC, FVC and DCVC train four MSE models, one per lambda)
PAPER_LAMBDAS = (256.0, 512.0, 1024.0, 2048.0)
PRECISIONS = ("fp32", "tf32", "bf16", "fp16")
#: what ``extend=`` accepts: none, or the one finished stage to train on
EXTEND = ("none", "stage1", "stage2")
#: what a preset fixes when its codec does not say
PRESET_DEFAULTS: dict[str, dict[str, Any]] = {
    "quick": {"crop": 64, "batch": 4, "lr": 3e-4, "steps": 200, "lambda": 1024.0,
              "time_limit": 270.0, "checkpoint_every": 25, "finetune_steps": 20,
              "mask_decay_rate": 0.2, "intra": "hevc", "start": "copy"},
    "paper": {"crop": 256, "batch": 4, "lr": 1e-4, "steps": 2_000_000, "lambda": 1024.0,
              "time_limit": None, "checkpoint_every": 1000, "finetune_steps": 20_000,
              "mask_decay_rate": 4e-5, "intra": "learned", "start": "public"},
}
#: how a codec trained from scratch starts (``start=``; see :func:`search.training.weights.start_codec`)
STARTS = ("copy", "public")
#: seconds of stage 1 and stage 2 when the main job runs both within the quick preset's 10 minutes
#: (each stage alone may take the preset's whole time limit)
QUICK_JOB_BUDGET = {"stage1": 150.0, "stage2": 210.0}


def preset_table(preset: str, codec: Any) -> dict[str, Any]:
    """The preset's values for ``codec`` (a codec class: its ``QUICK``/``PAPER`` dict wins)."""
    if preset not in PRESETS:
        raise BadInput(f"preset={preset!r}: expected one of {', '.join(PRESETS)}")
    return {**PRESET_DEFAULTS[preset], **getattr(codec, preset.upper(), {})}


def resolve(cfg: Config, codec: Any, codec_name: str, main_job: bool = False) -> Config:
    """A copy of ``cfg`` with every preset value filled for ``codec`` and checked.

    ``main_job``: stage 1 and stage 2 share the quick preset's time (:data:`QUICK_JOB_BUDGET`).
    A time limit of 0 (or none in the preset) is no limit: ``None`` in the result.
    """
    table = preset_table(cfg.preset, codec)
    if main_job and cfg.preset == "quick":
        table_stage1 = {**table, "time_limit": QUICK_JOB_BUDGET["stage1"]}
        table_stage2 = {**table, "time_limit": QUICK_JOB_BUDGET["stage2"]}
    else:
        table_stage1 = table_stage2 = table
    if cfg.lambdas and cfg.training.lmbda is None:  # the main job's first RD point
        cfg = dataclasses.replace(cfg, training=dataclasses.replace(cfg.training,
                                                                    lmbda=float(cfg.lambdas[0])))
    training = _fill(cfg.training, table, {"lmbda": "lambda"})
    stage1 = _fill(cfg.stage1, table_stage1, {})
    supernet = _fill(cfg.supernet, table_stage2, {})
    mask_decay = _fill(cfg.mask_decay, table, {"rate": "mask_decay_rate"})
    outer = _fill(cfg.outer, table, {})
    # the I-frame coder: the quick preset's is classical (x265 intra needs no training), the paper
    # preset's the learned image codec the papers after DVC use
    intra = dataclasses.replace(cfg.intra, mode=cfg.intra.mode or table["intra"])
    out = dataclasses.replace(cfg, training=training, stage1=stage1, supernet=supernet,
                              mask_decay=mask_decay, outer=outer, intra=intra)
    check(out, codec, codec_name)
    return out


def _fill(section: Any, table: Mapping[str, Any], names: Mapping[str, str]) -> Any:
    values = {}
    for f in dataclasses.fields(section):
        value = getattr(section, f.name)
        key = names.get(f.name, f.name)
        if value is None and key in table:
            value = table[key]
        if f.name == "time_limit":
            value = float(value) if value else None
        values[f.name] = value
    return dataclasses.replace(section, **values)


def check(cfg: Config, codec: Any, codec_name: str) -> None:
    """The values a resolved tree must satisfy (one line naming the key, exit 2): training, and the
    supernet's complexity-vector embedding (checked before any training)."""
    training = cfg.training
    if training.reference not in ("gt", "recon"):
        raise BadInput(f"reference={training.reference!r}: expected gt or recon")
    if training.start not in STARTS:
        raise BadInput(f"start={training.start!r}: expected copy (the P-frame path starts as 'copy the "
                       f"reference') or public (the public code's random start)")
    if training.gop < 2:
        raise BadInput(f"gop={training.gop}: a training sample needs a reference and a P-frame "
                       f"(gop >= 2)")
    if training.lmbda <= 0:
        raise BadInput(f"lambda={training.lmbda:g}: must be > 0")
    if training.crop <= 0 or training.crop % codec.MULTIPLE:
        raise BadInput(f"crop={training.crop}: must be a positive multiple of {codec.MULTIPLE} for "
                       f"codec {codec_name!r}")
    for name, value in (("steps", cfg.stage1.steps), ("steps", cfg.supernet.steps),
                        ("batch", training.batch), ("checkpoint_every", training.checkpoint_every)):
        if int(value) < 1:
            raise BadInput(f"{name}={value}: must be >= 1")
    if training.lr <= 0:
        raise BadInput(f"lr={training.lr:g}: must be > 0")
    if any(float(v) <= 0 for v in cfg.lambdas) or len(set(cfg.lambdas)) != len(cfg.lambdas):
        raise BadInput(f"lambda={list(cfg.lambdas)}: expected distinct positive values")
    check_runtime(cfg)
    if cfg.extend not in EXTEND:
        raise BadInput(f"extend={cfg.extend!r}: expected one of {', '.join(EXTEND)} (the finished stage "
                       f"to train on; none: finished stages are never trained again)")
    if cfg.preset == "paper":
        check_paper(cfg)


def check_runtime(cfg: Config) -> None:
    """The runtime values that need no device to check (the device itself is checked where torch
    can see the machine: :func:`search.training.runtime.parse_device`)."""
    if cfg.runtime.precision not in PRECISIONS:
        raise BadInput(f"precision={cfg.runtime.precision!r}: expected one of {', '.join(PRECISIONS)}")
    if cfg.runtime.workers < 0:
        raise BadInput(f"data_workers={cfg.runtime.workers}: must be >= 0 (0 reads samples in process)")


def check_paper(cfg: Config) -> None:
    """``preset=paper`` is the papers' training: Vimeo-90k septuplets, one of their four lambdas."""
    if str(cfg.data).strip().lower() == "default":
        raise BadInput("preset=paper trains on Vimeo-90k as the papers do: give data=<folder of the "
                       "Vimeo-90k septuplets, holding sep_trainlist.txt and sequences/> (or use "
                       "preset=quick on the default clips)")
    if float(cfg.training.lmbda) not in PAPER_LAMBDAS:
        raise BadInput(f"lambda={cfg.training.lmbda:g}: preset=paper trains at the papers' lambdas "
                       f"{', '.join(f'{v:g}' for v in PAPER_LAMBDAS)} (use preset=quick for others)")
