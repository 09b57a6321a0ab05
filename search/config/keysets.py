"""Flat keys that several commands share (``python -m search.supernet`` and ``search.run``)."""
from __future__ import annotations

#: where and how a training job computes (``search.train``, ``search.supernet``, ``search.run``)
TRAINING_RUNTIME_KEYS = ("device=runtime.device", "precision=runtime.precision",
                         "compile=runtime.compile", "data_workers=runtime.workers")

#: commands that only run a codec (evaluation) or trace it once (profiles) take the device alone
DEVICE_KEY = "device=runtime.device"

#: the stage-2 job's keys, in ``--help`` order (``name`` or ``name=section.field``)
SUPERNET_KEYS = (
    "space", "target_gmacs=supernet.target_gmacs", "interpolate=supernet.interpolate", "resolution",
    "checkpoint", "preset", "data", "lmbda=training.lmbda", "steps=supernet.steps",
    "stage1_steps=stage1.steps", "stage1_time_limit=stage1.time_limit", "batch=training.batch",
    "crop=training.crop", "lr=training.lr", "selector_lr=supernet.selector_lr",
    "hidden=supernet.hidden", "embedding=supernet.embedding", "embedding_dims=supernet.embedding_dims",
    "beta=supernet.beta", "beta_below=supernet.beta_below",
    "tau_start=supernet.tau_start", "tau_floor=supernet.tau_floor",
    "tau_schedule=supernet.tau_schedule", "tolerance=supernet.tolerance",
    "selector=supernet.selector", "mask_decay_rate=supernet.mask_decay_rate",
    "mask_decay_fraction=supernet.mask_decay_fraction", "mask_decay_distill=supernet.mask_decay_distill",
    "eval_gops=eval.max_gops",
    "eval_gop_size=eval.gop_size", "bitstream=eval.bitstream", "seed", "out",
    "time_limit=supernet.time_limit", "checkpoint_every=training.checkpoint_every", "threads",
    "test_data=eval.data", "condition=eval.condition", "yuv_to_rgb=eval.yuv_to_rgb",
    "intra=intra.mode", "intra_checkpoint=intra.checkpoint", "intra_model=intra.model",
    "intra_quick_steps=intra.quick_steps", "intra_quick_time_limit=intra.quick_time_limit", "extend",
    *TRAINING_RUNTIME_KEYS)

#: the outer search's keys
OUTER_KEYS = ("trials=outer.trials", "backend=outer.backend", "sampler=outer.sampler", "cpus=outer.cpus",
              "cpus_per_trial=outer.cpus_per_trial", "gpus_per_trial=outer.gpus_per_trial",
              "storage=outer.storage", "workers=outer.workers", "ray_address=outer.ray_address",
              "val_count=outer.val_count", "val_batches=outer.val_batches", "val_crop=outer.val_crop", "bands=outer.bands",
              "finetune_steps=outer.finetune_steps", "verbose")

#: jobs with a supernet evaluate each level on one short GOP per sequence, rates from likelihoods
SUPERNET_EVAL_DEFAULTS = {"eval.max_gops": 1, "eval.gop_size": 4, "eval.bitstream": False}
#: the main job's verdict: two GOPs of 4 frames per test sequence, P-frame rates from real bitstreams
RUN_EVAL_DEFAULTS = {"eval.max_gops": 2, "eval.gop_size": 4, "eval.bitstream": True}
