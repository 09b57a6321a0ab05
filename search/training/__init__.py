"""Training: the RD loss, checkpoints, the shared training loop, devices, mixed precision and several
processes (the runtime), each step's batches, and stage 1 (the whole codec)."""
from .batches import StepBatches
from .checkpoint import latest_checkpoint, load_model_state, read_checkpoint, save_checkpoint
from .loop import LoopConfig, TrainingLoop
from .rd import figures_of, rates_bpp, rd_loss
from .runtime import Runtime, derived_seed, optimizer_step, parse_device, start_runtime
from .stage1 import (LOSS_TERMS, GopLoss, Stage1Step, batch_of, codec_inputs, codes_images,
                     coding_losses, frames_per_sample, image_losses, p_frame_losses, stage1_checkpoint,
                     train_stage1)
from .stages import StageRecord, file_sha256, read_stage, set_aside
from .weights import codec_at_layout, codec_with_weights, model_state

__all__ = ["StepBatches", "latest_checkpoint", "load_model_state", "read_checkpoint", "save_checkpoint",
           "LoopConfig", "TrainingLoop", "figures_of", "rates_bpp", "rd_loss", "Runtime", "derived_seed",
           "optimizer_step", "parse_device", "start_runtime", "LOSS_TERMS", "GopLoss", "Stage1Step",
           "batch_of", "codec_inputs", "codes_images", "coding_losses", "frames_per_sample", "image_losses",
           "p_frame_losses", "stage1_checkpoint", "train_stage1", "codec_at_layout",
           "codec_with_weights", "model_state", "StageRecord", "file_sha256", "read_stage", "set_aside"]
