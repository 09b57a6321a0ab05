"""Parameter-free operations shared by the codecs (warping, resampling, scale-space compensation)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def _sampling_grid(flow: torch.Tensor) -> torch.Tensor:
    """[B,H,W,2] sampling positions of ``grid_sample`` (align_corners=True) for a pixel-unit ``flow``
    ([B,2,H,W], x then y): each pixel's own position moved by its flow."""
    b, _, h, w = flow.shape
    ys, xs = torch.meshgrid(torch.linspace(-1.0, 1.0, h, device=flow.device, dtype=flow.dtype),
                            torch.linspace(-1.0, 1.0, w, device=flow.device, dtype=flow.dtype),
                            indexing="ij")
    grid = torch.stack((xs, ys), dim=-1).unsqueeze(0)
    scale = torch.tensor([2.0 / max(w - 1, 1), 2.0 / max(h - 1, 1)], device=flow.device,
                         dtype=flow.dtype)
    return grid + flow.permute(0, 2, 3, 1) * scale


def flow_warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Backward warp ``image`` by a pixel-unit ``flow`` ([B,2,H,W], x then y), bilinear, border padding,
    as the public DVC/FVC/DCVC code does (``torch.nn.functional.grid_sample``, align_corners=True)."""
    return F.grid_sample(image, _sampling_grid(flow), mode="bilinear", padding_mode="border",
                         align_corners=True)


def upsample2x(x: torch.Tensor) -> torch.Tensor:
    """Bilinear x2 upsampling with align_corners=True (DVC's ``bilinearupsacling2``)."""
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)


def scale_space_volume(image: torch.Tensor, levels: int) -> torch.Tensor:
    """The scale-space volume of scale-space flow (Agustsson et al., CVPR 2020, Sec. 3.2):
    ``[B, C, levels + 1, H, W]``, level 0 the image itself and level ``k`` the image blurred at a scale
    of about ``2**k`` pixels.

    The paper blurs with Gaussian kernels of increasing width. Here a level is the image average-pooled
    by ``2**k`` and upsampled back bilinearly: a blur of the same scale made of pooling and
    interpolation only, which are not multiply-accumulates in this project's accounting (a fixed
    Gaussian convolution would be counted by fvcore like a learned one)."""
    height, width = image.shape[-2:]
    volume = [image]
    for k in range(1, levels + 1):
        pooled = F.avg_pool2d(image, 2 ** k, ceil_mode=True, count_include_pad=False)
        volume.append(F.interpolate(pooled, size=(height, width), mode="bilinear", align_corners=False))
    return torch.stack(volume, dim=2)


def scale_space_warp(image: torch.Tensor, flow: torch.Tensor, scale: torch.Tensor, levels: int
                     ) -> torch.Tensor:
    """Scale-space warp (Agustsson et al., CVPR 2020, Eq. 2): trilinear sampling of
    :func:`scale_space_volume` at ``(x + flow_x, y + flow_y, scale)``.

    ``flow`` is [B,2,H,W] in pixels (x then y) as in :func:`flow_warp`; ``scale`` is [B,1,H,W] in
    volume levels (0: sharp, ``levels``: the blurriest), clamped to ``[0, levels]`` by border padding.
    With ``scale`` 0 this is :func:`flow_warp`."""
    volume = scale_space_volume(image, levels)
    depth = scale.permute(0, 2, 3, 1) * (2.0 / max(levels, 1)) - 1.0
    grid = torch.cat([_sampling_grid(flow), depth], dim=-1).unsqueeze(1)   # [B, 1, H, W, 3]
    warped = F.grid_sample(volume, grid, mode="bilinear", padding_mode="border", align_corners=True)
    return warped.squeeze(2)
