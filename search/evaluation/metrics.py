"""Quality of decoded frames: PSNR and MS-SSIM of RGB frames in [0, 1]."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from pytorch_msssim import ms_ssim, ssim


def psnr(x_hat: torch.Tensor, x: torch.Tensor) -> float:
    """PSNR in dB of RGB frames in [0, 1] (x_hat clamped)."""
    mse = F.mse_loss(x_hat.clamp(0, 1), x).item()
    return 100.0 if mse == 0 else 10 * math.log10(1.0 / mse)


def msssim(x_hat: torch.Tensor, x: torch.Tensor) -> float:
    """MS-SSIM (pytorch-msssim, its five standard scales) of frames in [0, 1].

    Five scales need a short side above ``(win_size - 1) * 16``: 160 px with the standard 11-px window.
    Smaller frames (carphone is 176x144) use the largest odd window that fits, down to 3 px;
    frames under 48 px get single-scale SSIM.
    """
    short = min(x.shape[-2:])
    win = 11
    while win > 3 and (win - 1) * 16 >= short:
        win -= 2
    if (win - 1) * 16 >= short:
        return float(ssim(x_hat.clamp(0, 1), x, data_range=1.0, size_average=True, win_size=3))
    return float(ms_ssim(x_hat.clamp(0, 1), x, data_range=1.0, size_average=True, win_size=win))


def plane_psnr(decoded: torch.Tensor, original: torch.Tensor) -> float:
    """PSNR in dB of one colour plane (values in [0, 1])."""
    mse = F.mse_loss(decoded, original).item()
    return 100.0 if mse == 0 else 10 * math.log10(1.0 / mse)
