"""The rate-distortion loss of a coded P-frame: ``R_m + R_r + lambda * D`` (Eq. 1 of the cgSlimDecoder
supplementary), with rates in bits per pixel from the likelihoods."""
from __future__ import annotations

from typing import Mapping

import torch
import torch.nn.functional as F

from ..entropy import bits


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
    # on the frames' device (a part with no likelihoods rates zero bits), in the frames' precision (a
    # reconstruction from an autocast forward pass may be half precision)
    motion = rates.get("motion", torch.zeros(())).to(x.device)
    residual = rates.get("residual", torch.zeros(())).to(x.device)
    mse = F.mse_loss(output["x_hat"].to(x.dtype), x)
    return {"loss": motion + residual + lmbda * mse, "bpp": motion + residual,
            "bpp_motion": motion, "bpp_residual": residual, "mse": mse}


def figures_of(losses: Mapping[str, torch.Tensor]) -> dict[str, float]:
    """The loss terms as floats, with the PSNR of their MSE (what progress bars and logs show)."""
    out = {k: float(v.detach()) for k, v in losses.items()}
    mse = max(out["mse"], 1e-12)
    out["psnr"] = 10 * torch.log10(torch.tensor(1.0 / mse)).item()
    return out
