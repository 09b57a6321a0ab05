"""Rate-distortion figures of a coded P-frame: the stage-1 loss ``R_m + R_r + lambda * D`` (Eq. 1 of
the cgSlimDecoder supplementary), bpp per part, PSNR and MS-SSIM."""
from __future__ import annotations

import math
from typing import Mapping

import torch
import torch.nn.functional as F
from pytorch_msssim import ms_ssim

from .entropy import bits


def rates_bpp(likelihoods: Mapping[str, Mapping[str, torch.Tensor]], num_pixels: int
              ) -> dict[str, torch.Tensor]:
    """Bits per pixel of each part ("motion", "residual") from its likelihoods."""
    out = {}
    for part, named in likelihoods.items():
        total = sum((bits(lik) for lik in named.values()), torch.zeros(()))
        out[part] = total / num_pixels
    return out


def rd_loss(output: Mapping, x: torch.Tensor, lmbda: float) -> dict[str, torch.Tensor]:
    """``loss = R_m + R_r + lambda * MSE`` with rates in bpp over the batch's pixels."""
    batch, _, height, width = x.shape
    rates = rates_bpp(output["likelihoods"], batch * height * width)
    motion = rates.get("motion", torch.zeros(()))
    residual = rates.get("residual", torch.zeros(()))
    mse = F.mse_loss(output["x_hat"], x)
    return {"loss": motion + residual + lmbda * mse, "bpp": motion + residual,
            "bpp_motion": motion, "bpp_residual": residual, "mse": mse}


def psnr(x_hat: torch.Tensor, x: torch.Tensor) -> float:
    """PSNR in dB of RGB frames in [0, 1] (x_hat clamped)."""
    mse = F.mse_loss(x_hat.clamp(0, 1), x).item()
    return 100.0 if mse == 0 else 10 * math.log10(1.0 / mse)


def msssim(x_hat: torch.Tensor, x: torch.Tensor) -> float:
    """MS-SSIM (pytorch-msssim) with as many of its five scales as the frame size allows.

    The standard five scales need a short side above 160 px; smaller frames (carphone is 176x144) use
    the first scales of the standard weights, renormalised.
    """
    weights = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]
    short = min(x.shape[-2:])
    scales = 5
    while scales > 1 and short <= (11 - 1) * 2 ** (scales - 1):
        scales -= 1
    w = torch.tensor(weights[:scales])
    return float(ms_ssim(x_hat.clamp(0, 1), x, data_range=1.0, size_average=True,
                         weights=(w / w.sum()).tolist()))
