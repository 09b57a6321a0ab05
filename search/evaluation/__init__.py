"""Evaluation: rate-distortion of a codec on real video, and the quality metrics."""
from .coding import code_p_frame, evaluate, mean_figures, summarise
from .metrics import msssim, psnr

__all__ = ["code_p_frame", "evaluate", "mean_figures", "summarise", "msssim", "psnr"]
