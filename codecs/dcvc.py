"""DCVC (Li, Li and Lu, "Deep Contextual Video Compression", NeurIPS 2021), decoder side.

Follows the official code (microsoft/DCVC, ``DCVC-family/DCVC/src/models/DCVC_net.py`` with
``video_net.py`` and ``layers/layers.py``): every sub-network is an ``nn.Sequential`` attribute of
``DCVC_net`` with the same name and the same indices here (activations are modules at the odd indices),
so the official checkpoints' decoder keys (no prefix) load strictly. Channel constants of that code:
``out_channel_mv`` = 128, ``out_channel_N`` = 64, ``out_channel_M`` = 96.

Decoding (``DCVC_net.decompress``; the entropy networks as in ``DCVC_net.forward``)::

    params_mv = mvpriorDecoder(z_mv_hat)                      # 64 ch @ H/64 -> 256 ch @ H/16
    gauss_mv  = entropy_parameters_mv(cat(params_mv, auto_regressive_mv(mv_y_hat)))   # 512 -> 256
    mv        = mvDecoder_part1(mv_y_hat)                     # 128 ch @ H/16 -> 2 ch @ H
    mv        = mvDecoder_part2(cat(mv, ref)) + mv            # mv_refine
    context   = context_refine(flow_warp(feature_extract(ref), mv))   # motioncompensation
    temporal_prior = temporalPriorEncoder(context)            # 64 ch @ H -> 96 ch @ H/16
    params    = priorDecoder(z_hat)                           # 64 ch @ H/64 -> 96 ch @ H/16
    gauss_y   = entropy_parameters(cat(temporal_prior, params, auto_regressive(y_hat)))  # 384 -> 192
    x_hat     = contextualDecoder_part2(cat(contextualDecoder_part1(y_hat), context)).clamp(0, 1)

The official decoder runs the autoregressive context models pixel by pixel (``decompress_ar``, a 5x5
crop per latent position); here, as in training (``forward``), each context model is one masked-conv
pass over the decoded latent, which is the same arithmetic and how its MACs are counted.

Report rows follow cgSlimDecoder's Table S3 (supplementary): Motion Decoder, Motion Refinement, Feature
Extraction, Context Refinement, Context Encoder (``temporalPriorEncoder``), Contextual Decoder; the
entropy-side decoder networks, absent from the table, form an extra module. A layer's key is its module
path. (I)GDNs (which the table omits) carry the row of the conv before them. Where the code and the table
differ, ``Layer.paper`` keeps the table's notation: the contextual decoder's four up-sampling layers are
sub-pixel convolutions (3x3 conv to 4C channels + PixelShuffle(2)), printed ``D(..)↑`` in the table, and
its last layer is ``Conv2d(64, 3)``, printed ``C(32,3)``.

Ties: none. The only additions are the residual blocks' identity skips (the trunk width is the same
Width object on both sides) and ``mv + mvDecoder_part2(...)``, whose two sides are fixed 2-channel flows.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from search.codec import Codec
from search.ops import flow_warp
from search.slim import (ResBlock, ResBlockLReLU, SlimConv2d, SlimConvTranspose2d, SlimGDN,
                         SlimMaskedConv2d, SubPixelConv2d)
from search.widths import Layer, Widths

MV, N, M = 128, 64, 96

_MV_DEC = "mvDecoder_part1"
_MV_REF = "mvDecoder_part2"
_FEAT = "feature_extract"
_CTX_REF = "context_refine"
_TPE = "temporalPriorEncoder"
_CD1 = "contextualDecoder_part1"
_CD2 = "contextualDecoder_part2"

_MOTION_DECODER = [Layer(f"{_MV_DEC}.{i}", "D", MV, arrow="↑") for i in (0, 2, 4)]
_MOTION_DECODER.append(Layer(f"{_MV_DEC}.6", "D", 2, arrow="↑", fixed="flow output"))

_MOTION_REFINEMENT = [Layer(f"{_MV_REF}.{i}", "C", 64) for i in (0, 2, 4, 6, 8, 10)]
_MOTION_REFINEMENT.append(Layer(f"{_MV_REF}.12", "C", 2, fixed="flow output (refinement of the flow)"))

_FEATURE_EXTRACTION = [Layer(f"{_FEAT}.0", "C", N), Layer(f"{_FEAT}.1", "R", N)]

_CONTEXT_REFINEMENT = [Layer(f"{_CTX_REF}.0", "R", N), Layer(f"{_CTX_REF}.1", "C", N)]

_CONTEXT_ENCODER = [Layer(f"{_TPE}.{i}", "C", N, arrow="↓") for i in (0, 2, 4)]
_CONTEXT_ENCODER.append(Layer(f"{_TPE}.6", "C", M, arrow="↓",
                              fixed="latent prior output (temporal prior of the entropy model)"))

_SUBPEL_NOTE = ("a sub-pixel convolution (subpel_conv3x3: Conv 3x3 to 4C channels, then "
                "PixelShuffle(2)), not a transposed convolution")
_CONTEXTUAL_DECODER = [
    Layer(f"{_CD1}.0", "S", N, arrow="↑", paper="D(96,64)↑", note=_SUBPEL_NOTE),
    Layer(f"{_CD1}.2", "S", N, arrow="↑", paper="D(64,64)↑", note=_SUBPEL_NOTE),
    Layer(f"{_CD1}.4", "R", N),
    Layer(f"{_CD1}.5", "S", N, arrow="↑", paper="D(64,64)↑", note=_SUBPEL_NOTE),
    Layer(f"{_CD1}.7", "R", N),
    Layer(f"{_CD1}.8", "S", N, arrow="↑", paper="D(64,64)↑", note=_SUBPEL_NOTE),
    Layer(f"{_CD2}.0", "C", N),
    Layer(f"{_CD2}.1", "R", N),
    Layer(f"{_CD2}.2", "R", N),
    Layer(f"{_CD2}.3", "C", 3, fixed="image output", paper="C(32,3)",
          note="the public code ends with Conv2d(64, 3, 3), not C(32,3)"),
]

_PARAMS = "entropy parameters (means, scales)"
_ENTROPY_DECODERS = [
    Layer("mvpriorDecoder.0", "D", N, arrow="↑", paper=""),
    Layer("mvpriorDecoder.2", "D", N * 3 // 2, arrow="↑", paper=""),
    Layer("mvpriorDecoder.4", "D", 2 * MV, paper=""),
    Layer("auto_regressive_mv", "C", 2 * MV, paper="", note="5x5 masked (causal) convolution"),
    Layer("entropy_parameters_mv.0", "C", MV * 10 // 3, paper=""),
    Layer("entropy_parameters_mv.2", "C", MV * 8 // 3, paper=""),
    Layer("entropy_parameters_mv.4", "C", 2 * MV, fixed=_PARAMS, paper=""),
    Layer("priorDecoder.0", "D", M, arrow="↑", paper=""),
    Layer("priorDecoder.2", "D", M, arrow="↑", paper=""),
    Layer("priorDecoder.4", "D", M, paper=""),
    Layer("auto_regressive", "C", 2 * M, paper="", note="5x5 masked (causal) convolution"),
    Layer("entropy_parameters.0", "C", M * 10 // 3, paper=""),
    Layer("entropy_parameters.2", "C", M * 8 // 3, paper=""),
    Layer("entropy_parameters.4", "C", 2 * M, fixed=_PARAMS, paper=""),
]


def _conv(w: Widths, key: str, width_in, kernel: int, stride: int = 1) -> SlimConv2d:
    layer = SlimConv2d(w, width_in, w[key], kernel, stride, row=key)
    w.row(key, width_in, w[key])
    return layer


def _deconv(w: Widths, key: str, width_in, kernel: int, stride: int) -> SlimConvTranspose2d:
    layer = SlimConvTranspose2d(w, width_in, w[key], kernel, stride, row=key)
    w.row(key, width_in, w[key])
    return layer


def _subpel(w: Widths, key: str, width_in) -> SubPixelConv2d:
    layer = SubPixelConv2d(w, width_in, w[key], 2, row=key)
    w.row(key, width_in, w[key])
    return layer


def motion_decoder(w: Widths) -> nn.Sequential:
    """``mvDecoder_part1``: 4 x ConvTranspose2d 3x3 s2 (p1, op1), IGDN after the first three."""
    mods, width_in = [], w.fixed(MV)
    for i in (0, 2, 4, 6):
        key = f"{_MV_DEC}.{i}"
        mods.append(_deconv(w, key, width_in, 3, 2))
        if i < 6:
            mods.append(SlimGDN(w, w[key], inverse=True, row=key))
        width_in = w[key]
    return nn.Sequential(*mods)


def motion_refinement(w: Widths) -> nn.Sequential:
    """``mvDecoder_part2``: 7 x Conv2d 3x3 on cat(mv, ref) (5 ch), LeakyReLU(0.1) between."""
    mods, width_in = [], [w[f"{_MV_DEC}.6"], w.fixed(3)]
    for i in range(0, 13, 2):
        key = f"{_MV_REF}.{i}"
        mods.append(_conv(w, key, width_in, 3))
        if i < 12:
            mods.append(nn.LeakyReLU(0.1))
        width_in = w[key]
    return nn.Sequential(*mods)


def feature_extraction(w: Widths) -> nn.Sequential:
    """``feature_extract``: Conv2d(3, 64, 3), ResBlock(64) (no activation in between)."""
    trunk = w[f"{_FEAT}.0"]
    return nn.Sequential(_conv(w, f"{_FEAT}.0", w.fixed(3), 3),
                         ResBlock(w, trunk, w[f"{_FEAT}.1"], row=f"{_FEAT}.1"))


def context_refinement(w: Widths) -> nn.Sequential:
    """``context_refine`` on the warped feature (width of ``feature_extract.0``): ResBlock, Conv 3x3."""
    trunk = w[f"{_FEAT}.0"]
    return nn.Sequential(ResBlock(w, trunk, w[f"{_CTX_REF}.0"], row=f"{_CTX_REF}.0"),
                         _conv(w, f"{_CTX_REF}.1", trunk, 3))


def context_encoder(w: Widths) -> nn.Sequential:
    """``temporalPriorEncoder``: 4 x Conv2d 5x5 s2 (p2), GDN after the first three."""
    mods, width_in = [], w[f"{_CTX_REF}.1"]
    for i in (0, 2, 4, 6):
        key = f"{_TPE}.{i}"
        mods.append(_conv(w, key, width_in, 5, 2))
        if i < 6:
            mods.append(SlimGDN(w, w[key], row=key))
        width_in = w[key]
    return nn.Sequential(*mods)


def contextual_decoder_part1(w: Widths) -> nn.Sequential:
    """``contextualDecoder_part1``: subpel, IGDN, subpel, IGDN, ResBlock_LeakyReLU_0_Point_1, subpel,
    IGDN, ResBlock_LeakyReLU_0_Point_1, subpel (96 ch @ H/16 -> 64 ch @ H)."""
    k = [f"{_CD1}.{i}" for i in range(9)]
    return nn.Sequential(
        _subpel(w, k[0], w.fixed(M)),
        SlimGDN(w, w[k[0]], inverse=True, row=k[0]),
        _subpel(w, k[2], w[k[0]]),
        SlimGDN(w, w[k[2]], inverse=True, row=k[2]),
        ResBlockLReLU(w, w[k[2]], w[k[4]], row=k[4]),
        _subpel(w, k[5], w[k[2]]),
        SlimGDN(w, w[k[5]], inverse=True, row=k[5]),
        ResBlockLReLU(w, w[k[5]], w[k[7]], row=k[7]),
        _subpel(w, k[8], w[k[5]]),
    )


def contextual_decoder_part2(w: Widths) -> nn.Sequential:
    """``contextualDecoder_part2`` on cat(part1 output, context): Conv 3x3 128->64, 2 x ResBlock(64),
    Conv 3x3 64->3."""
    k = [f"{_CD2}.{i}" for i in range(4)]
    trunk = w[k[0]]
    return nn.Sequential(
        _conv(w, k[0], [w[f"{_CD1}.8"], w[f"{_CTX_REF}.1"]], 3),
        ResBlock(w, trunk, w[k[1]], row=k[1]),
        ResBlock(w, trunk, w[k[2]], row=k[2]),
        _conv(w, k[3], trunk, 3),
    )


def hyper_decoder(w: Widths, prefix: str) -> nn.Sequential:
    """``mvpriorDecoder`` / ``priorDecoder``: ConvT 5x5 s2, LeakyReLU, ConvT 5x5 s2, LeakyReLU,
    ConvT 3x3 s1 (LeakyReLU with the default slope 0.01, as in the public code)."""
    return nn.Sequential(
        _deconv(w, f"{prefix}.0", w.fixed(N), 5, 2),
        nn.LeakyReLU(inplace=True),
        _deconv(w, f"{prefix}.2", w[f"{prefix}.0"], 5, 2),
        nn.LeakyReLU(inplace=True),
        _deconv(w, f"{prefix}.4", w[f"{prefix}.2"], 3, 1),
    )


def entropy_parameters(w: Widths, prefix: str, width_in) -> nn.Sequential:
    """``entropy_parameters(_mv)``: three 1x1 convs, LeakyReLU (slope 0.01) between."""
    return nn.Sequential(
        _conv(w, f"{prefix}.0", width_in, 1),
        nn.LeakyReLU(inplace=True),
        _conv(w, f"{prefix}.2", w[f"{prefix}.0"], 1),
        nn.LeakyReLU(inplace=True),
        _conv(w, f"{prefix}.4", w[f"{prefix}.2"], 1),
    )


def _masked(w: Widths, key: str, width_in) -> SlimMaskedConv2d:
    layer = SlimMaskedConv2d(w, width_in, w[key], 5, row=key)
    w.row(key, width_in, w[key])
    return layer


class DCVC(Codec):
    """DCVC's decoder side (and its decoder-side entropy networks) at any width layout."""

    LAYERS = (_MOTION_DECODER + _MOTION_REFINEMENT + _FEATURE_EXTRACTION + _CONTEXT_REFINEMENT
              + _CONTEXT_ENCODER + _CONTEXTUAL_DECODER + _ENTROPY_DECODERS)
    TIES = ()
    MULTIPLE = 64
    RESIDUAL_NOTATION = ("trunk", "hidden")

    def __init__(self, layout=None):
        super().__init__(layout)
        w = self.widths
        self.mvDecoder_part1 = motion_decoder(w)
        self.mvDecoder_part2 = motion_refinement(w)
        self.feature_extract = feature_extraction(w)
        self.context_refine = context_refinement(w)
        self.temporalPriorEncoder = context_encoder(w)
        self.contextualDecoder_part1 = contextual_decoder_part1(w)
        self.contextualDecoder_part2 = contextual_decoder_part2(w)
        self.mvpriorDecoder = hyper_decoder(w, "mvpriorDecoder")
        self.auto_regressive_mv = _masked(w, "auto_regressive_mv", w.fixed(MV))
        self.entropy_parameters_mv = entropy_parameters(
            w, "entropy_parameters_mv", [w["mvpriorDecoder.4"], w["auto_regressive_mv"]])
        self.priorDecoder = hyper_decoder(w, "priorDecoder")
        self.auto_regressive = _masked(w, "auto_regressive", w.fixed(M))
        self.entropy_parameters = entropy_parameters(
            w, "entropy_parameters",
            [w[f"{_TPE}.6"], w["priorDecoder.4"], w["auto_regressive"]])

    def decoder_inputs(self, height, width, batch=1, generator=None):
        def rand(c, s):
            return torch.randn(batch, c, height // s, width // s, generator=generator)
        return {"ref": torch.rand(batch, 3, height, width, generator=generator),
                "q_mv": rand(MV, 16).round(), "q_y": rand(M, 16).round(),
                "q_z_mv": rand(N, 64).round(), "q_z": rand(N, 64).round()}

    def decode(self, ref, q_mv, q_y, q_z_mv, q_z):
        params_mv = self.mvpriorDecoder(q_z_mv)
        gauss_mv = self.entropy_parameters_mv(torch.cat([params_mv, self.auto_regressive_mv(q_mv)], 1))
        mv = self.mvDecoder_part1(q_mv)
        mv = self.mvDecoder_part2(torch.cat([mv, ref], 1)) + mv
        context = self.context_refine(flow_warp(self.feature_extract(ref), mv))
        temporal_prior = self.temporalPriorEncoder(context)
        params = self.priorDecoder(q_z)
        gauss_y = self.entropy_parameters(
            torch.cat([temporal_prior, params, self.auto_regressive(q_y)], 1))
        feature = self.contextualDecoder_part1(q_y)
        x_hat = self.contextualDecoder_part2(torch.cat([feature, context], 1)).clamp(0, 1)
        mv_means, mv_scales = gauss_mv.chunk(2, 1)
        y_means, y_scales = gauss_y.chunk(2, 1)
        return {"x_hat": x_hat, "mv": mv, "temporal_prior": temporal_prior,
                "mv_means": mv_means, "mv_scales": mv_scales, "y_means": y_means, "y_scales": y_scales}


CODEC = DCVC
