"""Flat keys that several commands share (``python -m search.supernet`` and ``search.run``)."""
from __future__ import annotations

#: where and how a training job computes (``search.train``, ``search.supernet``, ``search.run``)
TRAINING_RUNTIME_KEYS = ("device=runtime.device", "precision=runtime.precision",
                         "compile=runtime.compile", "data_workers=runtime.workers")

#: commands that only run a codec (evaluation) or trace it once (profiles) take the device alone
DEVICE_KEY = "device=runtime.device"

#: stage 2's keys of each selector (its own configuration section)
GUMBEL_KEYS = ("mode_selection_lr=gumbel.mode_selection_lr", "hidden=gumbel.hidden",
               "embedding=gumbel.embedding", "embedding_dims=gumbel.embedding_dims", "beta=gumbel.beta",
               "beta_below=gumbel.beta_below", "tau_start=gumbel.tau_start", "tau_floor=gumbel.tau_floor",
               "tau_schedule=gumbel.tau_schedule")
MASK_DECAY_KEYS = ("mask_decay_rate=mask_decay.rate", "mask_decay_fraction=mask_decay.fraction",
                   "mask_decay_distill=mask_decay.distill")

#: decode time: the objective, its targets and how decoders are timed (:mod:`search.config.latency`)
LATENCY_KEYS = ("objective=supernet.objective", "target_ms=supernet.target_ms",
                "latency_device=latency.device", "latency_runtime=latency.runtime",
                "latency_threads=latency.threads", "latency_precision=latency.precision",
                "latency_repeats=latency.repeats", "latency_layouts=latency.layouts",
                "landing_rounds=latency.landing_rounds", "landing_tolerance=latency.landing_tolerance",
                "measure_time=latency.measure", "pareto_gmacs=latency.pareto_gmacs")

#: the I-frame codec's keys (``search.train``, ``search.eval``, ``search.supernet``, ``search.run``)
INTRA_KEYS = ("intra=intra.mode", "intra_quality=intra.quality", "intra_checkpoint=intra.checkpoint",
              "intra_model=intra.model", "intra_quick_steps=intra.quick_steps",
              "intra_quick_time_limit=intra.quick_time_limit")

#: the stage-2 job's keys, in ``--help`` order (``name`` or ``name=section.field``)
SUPERNET_KEYS = (
    "space", "target_gmacs=supernet.target_gmacs", *LATENCY_KEYS, "interpolate=supernet.interpolate",
    "resolution", "profile_dir=profile.dir",
    "checkpoint", "preset", "data", "lmbda=training.lmbda", "steps=supernet.steps",
    "stage1_steps=stage1.steps", "stage1_time_limit=stage1.time_limit", "batch=training.batch",
    "crop=training.crop", "lr=training.lr", "start=training.start", "tolerance=supernet.tolerance",
    "selector=supernet.selector", *GUMBEL_KEYS, *MASK_DECAY_KEYS,
    "eval_gops=eval.max_gops",
    "eval_gop_size=eval.gop_size", "bitstream=eval.bitstream", "seed", "out",
    "time_limit=supernet.time_limit", "checkpoint_every=training.checkpoint_every", "threads",
    "test_data=eval.data", "condition=eval.condition", "yuv_to_rgb=eval.yuv_to_rgb",
    *INTRA_KEYS, "extend",
    *TRAINING_RUNTIME_KEYS)

#: the outer search's keys
OUTER_KEYS = ("trials=outer.trials", "backend=outer.backend", "sampler=outer.sampler", "cpus=outer.cpus",
              "cpus_per_trial=outer.cpus_per_trial", "gpus_per_trial=outer.gpus_per_trial",
              "storage=outer.storage", "workers=outer.workers", "ray_address=outer.ray_address",
              "val_count=outer.val_count", "val_batches=outer.val_batches", "val_crop=outer.val_crop", "bands=outer.bands",
              "finetune_steps=outer.finetune_steps", "finetune_lr=outer.finetune_lr", "verbose")

#: jobs with a supernet evaluate each level on one short GOP per sequence, rates from likelihoods
SUPERNET_EVAL_DEFAULTS = {"eval.max_gops": 1, "eval.gop_size": 4, "eval.bitstream": False}
#: the main job's verdict: two GOPs of 4 frames per test sequence, P-frame rates from real bitstreams
RUN_EVAL_DEFAULTS = {"eval.max_gops": 2, "eval.gop_size": 4, "eval.bitstream": True}
