"""DCVC (Li, Li and Lu, "Deep Contextual Video Compression", NeurIPS 2021): the whole P-frame codec.

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

The whole codec (``forward``/``compress``/``decompress``) adds the public encoder side with the public
names: ``opticFlow`` (``ME_Spynet``, random init: the SpyNet weights are not downloaded), ``mvEncoder``,
``mvpriorEncoder``, ``contextualEncoder``, ``priorEncoder``, and the factorized priors ``bitEstimator_z_mv``
/ ``bitEstimator_z`` (``search.entropy.BitEstimator``, keys ``f1..f4``). These are plain modules (not
searched, not in ``LAYERS``), so a public ``DCVC_net`` state dict loads strictly into the full model.
Latents ``mv_y`` (128 ch) and ``y`` (96 ch) are Laplace(mean, scale) from ``entropy_parameters(_mv)`` with
the autoregressive context models; hyper-latents ``z_mv``/``z`` use the factorized priors.

Differences from the public code (and why):

* Quantisation: uniform noise in training, rounding in eval, as every latent (public ``forward`` rounds;
  the public code ships no training code). The latents are rounded as they are (``round(y)``, as the
  public ``forward``), not around the mean (public ``compress_ar``: ``round(y - mu) + mu``), so that the
  decoded frame equals ``forward``'s in eval mode.
* Real coding of ``mv_y``/``y``: each integer symbol is coded with its own CDF, the discretised
  ``Laplace(mu, sigma)`` that ``forward``'s likelihood uses (CompressAI's rANS, 16-bit CDFs, values beyond
  the tabulated range escape-coded), not a scale table around the rounded mean; real bits therefore track
  ``-log2`` of the likelihoods. Encoder and decoder run the same per-position loop (5x5 crop of the causal
  context, as the public ``compress_ar``/``decompress_ar``) so their CDFs are bit-identical.
* Entropy-model numerics as in :mod:`search.entropy` (likelihood bound 1e-9, scale bound 0.11).
* ``forward``/``decompress`` return the unclamped reconstruction (``decode`` and the public
  ``decompress`` clamp to [0, 1]; metrics clamp).
* At a sliced layout, ``context`` has fewer than 64 channels; the contextual encoder (full width, not
  searched) gets it zero-padded to 64, which equals slicing its input channels and the masked supernet.
"""
from __future__ import annotations

import contextlib
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from compressai.ans import BufferedRansEncoder, RansDecoder
from compressai.layers import GDN

from search.codec import Codec, Provenance, make_part
from search.entropy import BitEstimator, LaplaceConditional, quantize, update_all
from search.nn.blocks import ResBlock, ResBlockLReLU
from search.nn.layers import SlimGDN, conv, deconv, masked_conv, nonpersistent_buffers, subpel
from search.nn.warp import flow_warp
from search.nn.widths import Layer, Widths

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


def motion_decoder(w: Widths) -> nn.Sequential:
    """``mvDecoder_part1``: 4 x ConvTranspose2d 3x3 s2 (p1, op1), IGDN after the first three."""
    mods, width_in = [], w.fixed(MV)
    for i in (0, 2, 4, 6):
        key = f"{_MV_DEC}.{i}"
        mods.append(deconv(w, key, width_in, 3, 2))
        if i < 6:
            mods.append(SlimGDN(w, w[key], inverse=True, row=key))
        width_in = w[key]
    return nn.Sequential(*mods)


def motion_refinement(w: Widths) -> nn.Sequential:
    """``mvDecoder_part2``: 7 x Conv2d 3x3 on cat(mv, ref) (5 ch), LeakyReLU(0.1) between."""
    mods, width_in = [], [w[f"{_MV_DEC}.6"], w.fixed(3)]
    for i in range(0, 13, 2):
        key = f"{_MV_REF}.{i}"
        mods.append(conv(w, key, width_in, 3))
        if i < 12:
            mods.append(nn.LeakyReLU(0.1))
        width_in = w[key]
    return nn.Sequential(*mods)


def feature_extraction(w: Widths) -> nn.Sequential:
    """``feature_extract``: Conv2d(3, 64, 3), ResBlock(64) (no activation in between)."""
    trunk = w[f"{_FEAT}.0"]
    return nn.Sequential(conv(w, f"{_FEAT}.0", w.fixed(3), 3),
                         ResBlock.slim(w, trunk, w[f"{_FEAT}.1"], row=f"{_FEAT}.1"))


def context_refinement(w: Widths) -> nn.Sequential:
    """``context_refine`` on the warped feature (width of ``feature_extract.0``): ResBlock, Conv 3x3."""
    trunk = w[f"{_FEAT}.0"]
    return nn.Sequential(ResBlock.slim(w, trunk, w[f"{_CTX_REF}.0"], row=f"{_CTX_REF}.0"),
                         conv(w, f"{_CTX_REF}.1", trunk, 3))


def context_encoder(w: Widths) -> nn.Sequential:
    """``temporalPriorEncoder``: 4 x Conv2d 5x5 s2 (p2), GDN after the first three."""
    mods, width_in = [], w[f"{_CTX_REF}.1"]
    for i in (0, 2, 4, 6):
        key = f"{_TPE}.{i}"
        mods.append(conv(w, key, width_in, 5, 2))
        if i < 6:
            mods.append(SlimGDN(w, w[key], row=key))
        width_in = w[key]
    return nn.Sequential(*mods)


def contextual_decoder_part1(w: Widths) -> nn.Sequential:
    """``contextualDecoder_part1``: subpel, IGDN, subpel, IGDN, ResBlock_LeakyReLU_0_Point_1, subpel,
    IGDN, ResBlock_LeakyReLU_0_Point_1, subpel (96 ch @ H/16 -> 64 ch @ H)."""
    k = [f"{_CD1}.{i}" for i in range(9)]
    return nn.Sequential(
        subpel(w, k[0], w.fixed(M)),
        SlimGDN(w, w[k[0]], inverse=True, row=k[0]),
        subpel(w, k[2], w[k[0]]),
        SlimGDN(w, w[k[2]], inverse=True, row=k[2]),
        ResBlockLReLU.slim(w, w[k[2]], w[k[4]], row=k[4]),
        subpel(w, k[5], w[k[2]]),
        SlimGDN(w, w[k[5]], inverse=True, row=k[5]),
        ResBlockLReLU.slim(w, w[k[5]], w[k[7]], row=k[7]),
        subpel(w, k[8], w[k[5]]),
    )


def contextual_decoder_part2(w: Widths) -> nn.Sequential:
    """``contextualDecoder_part2`` on cat(part1 output, context): Conv 3x3 128->64, 2 x ResBlock(64),
    Conv 3x3 64->3."""
    k = [f"{_CD2}.{i}" for i in range(4)]
    trunk = w[k[0]]
    return nn.Sequential(
        conv(w, k[0], [w[f"{_CD1}.8"], w[f"{_CTX_REF}.1"]], 3),
        ResBlock.slim(w, trunk, w[k[1]], row=k[1]),
        ResBlock.slim(w, trunk, w[k[2]], row=k[2]),
        conv(w, k[3], trunk, 3),
    )


def hyper_decoder(w: Widths, prefix: str) -> nn.Sequential:
    """``mvpriorDecoder`` / ``priorDecoder``: ConvT 5x5 s2, LeakyReLU, ConvT 5x5 s2, LeakyReLU,
    ConvT 3x3 s1 (LeakyReLU with the default slope 0.01, as in the public code)."""
    return nn.Sequential(
        deconv(w, f"{prefix}.0", w.fixed(N), 5, 2),
        nn.LeakyReLU(inplace=True),
        deconv(w, f"{prefix}.2", w[f"{prefix}.0"], 5, 2),
        nn.LeakyReLU(inplace=True),
        deconv(w, f"{prefix}.4", w[f"{prefix}.2"], 3, 1),
    )


def entropy_parameters(w: Widths, prefix: str, width_in) -> nn.Sequential:
    """``entropy_parameters(_mv)``: three 1x1 convs, LeakyReLU (slope 0.01) between."""
    return nn.Sequential(
        conv(w, f"{prefix}.0", width_in, 1),
        nn.LeakyReLU(inplace=True),
        conv(w, f"{prefix}.2", w[f"{prefix}.0"], 1),
        nn.LeakyReLU(inplace=True),
        conv(w, f"{prefix}.4", w[f"{prefix}.2"], 1),
    )


# -- encoder side (plain modules: not searched, not in LAYERS) ----------------------------------------


def _gdn(channels: int, inverse: bool = False) -> GDN:
    """The public GDN (params ``beta`` [C], ``gamma`` [C, C]; no buffers in the state dict)."""
    gdn = GDN(channels, inverse=inverse)
    nonpersistent_buffers(gdn)
    return gdn


class MEBasic(nn.Module):
    """One SpyNet level: five 7x7 convs (8 -> 32 -> 64 -> 32 -> 16 -> 2), ReLU between."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(8, 32, 7, padding=3)
        self.conv2 = nn.Conv2d(32, 64, 7, padding=3)
        self.conv3 = nn.Conv2d(64, 32, 7, padding=3)
        self.conv4 = nn.Conv2d(32, 16, 7, padding=3)
        self.conv5 = nn.Conv2d(16, 2, 7, padding=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.relu(self.conv3(x))
        x = F.relu(self.conv4(x))
        return self.conv5(x)


class ME_Spynet(nn.Module):  # noqa: N801 - public name
    """Public ``ME_Spynet``: 4-level pyramid (average pooling); at each level, from the coarsest, the flow
    is upsampled (bilinear, align_corners=False, x2 values) and refined by ``moduleBasic[level]`` on
    ``cat(im1, warp(im2, flow), flow)``. ``forward(im1, im2)`` gives the flow that warps ``im2`` onto
    ``im1`` (DCVC calls it as ``opticFlow(current, reference)``). Randomly initialised here."""

    L = 4

    def __init__(self):
        super().__init__()
        self.moduleBasic = nn.ModuleList([MEBasic() for _ in range(self.L)])

    def forward(self, im1: torch.Tensor, im2: torch.Tensor) -> torch.Tensor:
        im1s, im2s = [im1], [im2]
        for level in range(self.L - 1):
            im1s.append(F.avg_pool2d(im1s[level], kernel_size=2, stride=2))
            im2s.append(F.avg_pool2d(im2s[level], kernel_size=2, stride=2))
        coarse = im2s[-1]
        flow = im1.new_zeros(im1.shape[0], 2, coarse.shape[2] // 2, coarse.shape[3] // 2)
        for level in range(self.L):
            up = F.interpolate(flow, scale_factor=2, mode="bilinear", align_corners=False) * 2.0
            i = self.L - 1 - level
            flow = up + self.moduleBasic[level](torch.cat([im1s[i], flow_warp(im2s[i], up), up], 1))
        return flow


def motion_encoder() -> nn.Sequential:
    """``mvEncoder``: 4 x Conv2d 3x3 s2 (2 -> 128 -> ... -> 128), GDN after the first three."""
    mods, cin = [], 2
    for i in range(4):
        mods.append(nn.Conv2d(cin, MV, 3, stride=2, padding=1))
        if i < 3:
            mods.append(_gdn(MV))
        cin = MV
    return nn.Sequential(*mods)


def contextual_encoder() -> nn.Sequential:
    """``contextualEncoder`` on cat(x, context): Conv 5x5 s2 (67 -> 64), GDN, ResBlock_LReLU, Conv s2,
    GDN, ResBlock_LReLU, Conv s2, GDN, Conv s2 (64 -> 96)."""
    def down(cin, cout):
        return nn.Conv2d(cin, cout, 5, stride=2, padding=2)
    return nn.Sequential(down(N + 3, N), _gdn(N), ResBlockLReLU.plain(N), down(N, N), _gdn(N),
                         ResBlockLReLU.plain(N), down(N, N), _gdn(N), down(N, M))


def hyper_encoder(cin: int) -> nn.Sequential:
    """``mvpriorEncoder`` (cin 128) / ``priorEncoder`` (cin 96): Conv 3x3, LReLU, Conv 5x5 s2, LReLU,
    Conv 5x5 s2 (to 64 channels at H/64)."""
    return nn.Sequential(nn.Conv2d(cin, N, 3, padding=1), nn.LeakyReLU(inplace=True),
                         nn.Conv2d(N, N, 5, stride=2, padding=2), nn.LeakyReLU(inplace=True),
                         nn.Conv2d(N, N, 5, stride=2, padding=2))


# -- real coding of the autoregressive Laplace latents ------------------------------------------------

_PRECISION = 16
_TAIL = math.log(1e6)  # a Laplace(mu, s) puts mass 1e-6 beyond mu +- s * _TAIL
_MAX_HALF = 1024  # at most 2 * _MAX_HALF + 1 tabulated values per symbol; the rest is escape-coded


@contextlib.contextmanager
def _one_thread():
    """The per-position loops run tiny convolutions; intra-op threads only add overhead there (tens of
    times slower on busy cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _laplace_cdfs(coder: LaplaceConditional, means: torch.Tensor, scales: torch.Tensor):
    """Per-symbol quantised CDFs (CompressAI's rANS format) of integer values under the discretised
    ``Laplace(means, scales)`` of :meth:`LaplaceConditional.likelihood`. ``means``/``scales``: [C].

    Symbol c's table covers ``round(mu_c) - R_c .. round(mu_c) + R_c`` plus the escape symbol (the
    remaining mass); every entry gets at least one of the 2**16 counts. Returns (cdfs [C, Lmax + 2] as
    lists, lengths, offsets)."""
    means, scales = means.detach().double(), coder.lower_bound_scale(scales.detach()).double()
    center = torch.round(means)
    half = torch.clamp(torch.ceil(scales * _TAIL) + 1, max=_MAX_HALF).long()
    lengths = 2 * half + 1  # tabulated values per symbol
    lmax = int(lengths.max())
    j = torch.arange(lmax, device=means.device)
    values = (center - half)[:, None] + j[None, :]
    pmf = coder._likelihood(values, scales[:, None], means[:, None])
    inside = j[None, :] < lengths[:, None]
    pmf = torch.where(inside, pmf, torch.zeros_like(pmf))
    tail = (1 - pmf.sum(1, keepdim=True)).clamp(min=0)
    probs = torch.cat([pmf, torch.zeros_like(tail)], 1)
    probs.scatter_(1, lengths[:, None], tail)  # the escape symbol right after the last value
    valid = torch.arange(lmax + 1, device=means.device)[None, :] <= lengths[:, None]
    probs = probs / probs.sum(1, keepdim=True)
    total = 1 << _PRECISION
    count = (lengths + 1)[:, None]
    freq = torch.where(valid, torch.floor(probs * (total - count)).long() + 1, torch.zeros_like(count))
    deficit = total - freq.sum(1)
    freq[torch.arange(freq.shape[0]), probs.argmax(1)] += deficit
    cdf = torch.cat([torch.zeros_like(count), torch.cumsum(freq, 1)], 1)
    return (cdf.int().tolist(), (lengths + 2).int().tolist(), (center - half).int().tolist())


class DCVC(Codec):
    """The whole DCVC P-frame codec; its decoder side (and decoder-side entropy networks) at any width
    layout."""

    LAYERS = (_MOTION_DECODER + _MOTION_REFINEMENT + _FEATURE_EXTRACTION + _CONTEXT_REFINEMENT
              + _CONTEXT_ENCODER + _CONTEXTUAL_DECODER + _ENTROPY_DECODERS)
    TIES = ()
    MULTIPLE = 64
    PROVENANCE = Provenance(
        paper='Li, Li and Lu, "Deep Contextual Video Compression", NeurIPS 2021',
        code="https://github.com/microsoft/DCVC (DCVC-family/DCVC)",
    )
    RESIDUAL_NOTATION = ("trunk", "hidden")

    #: Training presets (search.train). QUICK: minutes on 2 CPU cores.
    QUICK = {"crop": 64, "batch": 4, "lr": 3e-4, "steps": 1000, "time_limit": 270.0}
    #: DCVC paper (Li et al., NeurIPS 2021, Sec. 4.1 / implementation details): Vimeo-90k, 256x256
    #: crops, batch 4, Adam, lr 1e-4 (1e-5 when fine-tuning), four MSE models lambda in
    #: {256, 512, 1024, 2048} (the four public checkpoints; batch 4 / lr 1e-4 confirmed by the authors in
    #: DeepMC-DCVC/DCVC issue #8). The paper states no iteration count: ``steps`` is the trainer's
    #: default (DVC's 2M), not a DCVC figure.
    PAPER = {"crop": 256, "batch": 4, "lr": 1e-4, "steps": 2_000_000, "lambda": 1024.0}

    def __init__(self, layout=None):
        super().__init__(layout)
        w = self.widths
        # decoder side (searched; public names and indices)
        self.mvDecoder_part1 = motion_decoder(w)
        self.mvDecoder_part2 = motion_refinement(w)
        self.feature_extract = feature_extraction(w)
        self.context_refine = context_refinement(w)
        self.temporalPriorEncoder = context_encoder(w)
        self.contextualDecoder_part1 = contextual_decoder_part1(w)
        self.contextualDecoder_part2 = contextual_decoder_part2(w)
        self.mvpriorDecoder = hyper_decoder(w, "mvpriorDecoder")
        self.auto_regressive_mv = masked_conv(w, "auto_regressive_mv", w.fixed(MV))
        self.entropy_parameters_mv = entropy_parameters(
            w, "entropy_parameters_mv", [w["mvpriorDecoder.4"], w["auto_regressive_mv"]])
        self.priorDecoder = hyper_decoder(w, "priorDecoder")
        self.auto_regressive = masked_conv(w, "auto_regressive", w.fixed(M))
        self.entropy_parameters = entropy_parameters(
            w, "entropy_parameters",
            [w[f"{_TPE}.6"], w["priorDecoder.4"], w["auto_regressive"]])
        # encoder side and entropy models (not searched; public names)
        self.opticFlow = ME_Spynet()
        self.mvEncoder = motion_encoder()
        self.mvpriorEncoder = hyper_encoder(MV)
        self.contextualEncoder = contextual_encoder()
        self.priorEncoder = hyper_encoder(M)
        self.bitEstimator_z_mv = BitEstimator(N)
        self.bitEstimator_z = BitEstimator(N)
        self.gaussian_encoder = LaplaceConditional()  # no state (as the public GaussianEncoder)

    # -- decoder side: the pieces decode, forward and decompress share -----------------------------

    def _mv_params(self, q_mv, q_z_mv):
        params_mv = self.mvpriorDecoder(q_z_mv)
        return self.entropy_parameters_mv(
            torch.cat([params_mv, self.auto_regressive_mv(q_mv)], 1)).chunk(2, 1)

    def _motion_context(self, ref, q_mv):
        """(refined flow, context) from the motion latent: mvDecoder_part1, mv_refine,
        motioncompensation."""
        mv = self.mvDecoder_part1(q_mv)
        mv = self.mvDecoder_part2(torch.cat([mv, ref], 1)) + mv
        return mv, self.context_refine(flow_warp(self.feature_extract(ref), mv))

    def _y_params(self, q_y, q_z, temporal_prior):
        params = self.priorDecoder(q_z)
        return self.entropy_parameters(
            torch.cat([temporal_prior, params, self.auto_regressive(q_y)], 1)).chunk(2, 1)

    def _reconstruct(self, q_y, context):
        """Unclamped reconstruction (contextualDecoder_part1, then part2 on cat(feature, context))."""
        feature = self.contextualDecoder_part1(q_y)
        return self.contextualDecoder_part2(torch.cat([feature, context], 1))

    def decoder_inputs(self, height, width, batch=1, generator=None):
        def rand(c, s):
            return torch.randn(batch, c, height // s, width // s, generator=generator)
        return {"ref": torch.rand(batch, 3, height, width, generator=generator),
                "q_mv": rand(MV, 16).round(), "q_y": rand(M, 16).round(),
                "q_z_mv": rand(N, 64).round(), "q_z": rand(N, 64).round()}

    def decode(self, ref, q_mv, q_y, q_z_mv, q_z):
        mv_means, mv_scales = self._mv_params(q_mv, q_z_mv)
        mv, context = self._motion_context(ref, q_mv)
        temporal_prior = self.temporalPriorEncoder(context)
        y_means, y_scales = self._y_params(q_y, q_z, temporal_prior)
        x_hat = self._reconstruct(q_y, context).clamp(0, 1)
        return {"x_hat": x_hat, "mv": mv, "temporal_prior": temporal_prior,
                "mv_means": mv_means, "mv_scales": mv_scales, "y_means": y_means, "y_scales": y_scales}

    def export_parts(self, height, width, batch=1, generator=None):
        """Motion (decoder, refinement, context), the temporal prior, the frame decoder, the hyper
        decoders; the autoregressive context models and entropy parameter nets stay in PyTorch."""
        inputs = self.decoder_inputs(height, width, batch, generator)
        ref, q_mv, q_y = inputs["ref"], inputs["q_mv"], inputs["q_y"]
        with torch.no_grad():
            _, context = self._motion_context(ref, q_mv)
            temporal_prior = self.temporalPriorEncoder(context)
            params_mv, params = self.mvpriorDecoder(inputs["q_z_mv"]), self.priorDecoder(inputs["q_z"])
        cls = type(self)

        def entropy(p, q_mv, params_mv, q_y, params, temporal_prior):
            mv = p.entropy_parameters_mv(torch.cat([params_mv, p.auto_regressive_mv(q_mv)], 1))
            y = p.entropy_parameters(torch.cat([temporal_prior, params, p.auto_regressive(q_y)], 1))
            return (*mv.chunk(2, 1), *y.chunk(2, 1))
        return [
            make_part(self, "motion", cls._motion_context,
                      ["mvDecoder_part1", "mvDecoder_part2", "feature_extract", "context_refine"],
                      {"ref": ref, "q_mv": q_mv}, ["mv", "context"],
                      "motion decoder and refinement, the warped reference's context"),
            make_part(self, "temporal_prior", lambda p, c: p.temporalPriorEncoder(c),
                      ["temporalPriorEncoder"], {"context": context}, ["temporal_prior"],
                      "the context encoder (temporal prior of the latent)"),
            make_part(self, "frame_decoder", lambda p, q, c: cls._reconstruct(p, q, c).clamp(0, 1),
                      ["contextualDecoder_part1", "contextualDecoder_part2"],
                      {"q_y": q_y, "context": context}, ["x_hat"],
                      "the contextual decoder (clamped to [0, 1], as decode)"),
            make_part(self, "hyper_decoders", lambda p, a, b: (p.mvpriorDecoder(a), p.priorDecoder(b)),
                      ["mvpriorDecoder", "priorDecoder"],
                      {"q_z_mv": inputs["q_z_mv"], "q_z": inputs["q_z"]}, ["params_mv", "params"],
                      "the two hyper decoders"),
            make_part(self, "context_models", entropy,
                      ["auto_regressive_mv", "entropy_parameters_mv", "auto_regressive",
                       "entropy_parameters"],
                      {"q_mv": q_mv, "params_mv": params_mv, "q_y": q_y, "params": params,
                       "temporal_prior": temporal_prior},
                      ["mv_means", "mv_scales", "y_means", "y_scales"],
                      "masked-convolution context models and entropy parameter nets",
                      kept_in_pytorch="autoregressive: the entropy decoder runs them once per "
                                      "decoded symbol position (DCVC._ar_decode), between rANS "
                                      "decoding steps"),
        ]

    # -- encoder side ---------------------------------------------------------------------------------

    def _encode_y(self, x, context):
        """The contextual encoder on cat(x, context), context zero-padded to its full 64 channels."""
        pad = N - context.shape[1]
        if pad:
            context = F.pad(context, (0, 0, 0, 0, 0, pad))
        return self.contextualEncoder(torch.cat([x, context], 1))

    def forward(self, ref, x):
        training = self.training
        mv_y = self.mvEncoder(self.opticFlow(x, ref))
        q_z_mv, lik_z_mv = self.bitEstimator_z_mv(self.mvpriorEncoder(mv_y), training)
        q_mv = quantize(mv_y, training)
        mv_means, mv_scales = self._mv_params(q_mv, q_z_mv)
        lik_mv = self.gaussian_encoder.likelihood(q_mv, mv_scales, mv_means)
        mv, context = self._motion_context(ref, q_mv)
        temporal_prior = self.temporalPriorEncoder(context)
        y = self._encode_y(x, context)
        q_z, lik_z = self.bitEstimator_z(self.priorEncoder(y), training)
        q_y = quantize(y, training)
        y_means, y_scales = self._y_params(q_y, q_z, temporal_prior)
        lik_y = self.gaussian_encoder.likelihood(q_y, y_scales, y_means)
        return {"x_hat": self._reconstruct(q_y, context), "mv": mv,
                "likelihoods": {"motion": {"mv_y": lik_mv, "mv_z": lik_z_mv},
                                "residual": {"y": lik_y, "z": lik_z}}}

    # -- real bitstreams ------------------------------------------------------------------------------

    def _ar_step(self, padded, params, h, w, context_model, parameter_net):
        """Entropy parameters (means, scales: [C]) of position (h, w) from the 5x5 causal neighbourhood
        in ``padded`` (the latent decoded so far, zero-padded by 2): the same computation on both
        sides, so encoder and decoder build bit-identical CDFs."""
        k = context_model.kernel_size[0]
        crop = padded[:, :, h:h + k, w:w + k]
        ctx = F.conv2d(crop, context_model.weight * context_model.mask, context_model.bias)
        ctx = context_model.mask_out(ctx)
        means, scales = parameter_net(torch.cat([params[:, :, h:h + 1, w:w + 1], ctx], 1)).chunk(2, 1)
        return means.flatten(), scales.flatten()

    def _ar_encode(self, q, params, context_model, parameter_net) -> bytes:
        """Code the integer latent ``q`` [1, C, H, W] in raster order, one position at a time."""
        pad = context_model.kernel_size[0] // 2
        _, channels, height, width = q.shape
        padded = q.new_zeros(1, channels, height + 2 * pad, width + 2 * pad)
        encoder, indexes = BufferedRansEncoder(), list(range(channels))
        with _one_thread():
            for h in range(height):
                for w in range(width):
                    means, scales = self._ar_step(padded, params, h, w, context_model, parameter_net)
                    cdfs, lengths, offsets = _laplace_cdfs(self.gaussian_encoder, means, scales)
                    symbols = q[0, :, h, w]
                    encoder.encode_with_indexes(symbols.int().tolist(), indexes, cdfs, lengths,
                                                offsets)
                    padded[0, :, h + pad, w + pad] = symbols
        return encoder.flush()

    def _ar_decode(self, string: bytes, channels, height, width, params, context_model,
                   parameter_net) -> torch.Tensor:
        pad = context_model.kernel_size[0] // 2
        padded = params.new_zeros(1, channels, height + 2 * pad, width + 2 * pad)
        decoder, indexes = RansDecoder(), list(range(channels))
        decoder.set_stream(string)
        with _one_thread():
            for h in range(height):
                for w in range(width):
                    means, scales = self._ar_step(padded, params, h, w, context_model, parameter_net)
                    cdfs, lengths, offsets = _laplace_cdfs(self.gaussian_encoder, means, scales)
                    values = decoder.decode_stream(indexes, cdfs, lengths, offsets)
                    padded[0, :, h + pad, w + pad] = torch.tensor(values, dtype=padded.dtype,
                                                                  device=padded.device)
        return padded[:, :, pad:pad + height, pad:pad + width]

    @torch.no_grad()
    def compress(self, ref, x):
        """Real bitstreams, one per frame of the batch: ``{"strings": {"motion": {"mv_y", "mv_z"},
        "residual": {"y", "z"}} (lists of bytes), "shape": (H, W), "bits": same names -> total bits
        over the batch}``. Builds the coder tables if missing (``update_all(self)``); after changing
        weights, call ``search.entropy.update_all(model, force=True)``. Eval-mode quantisation
        (rounding) whatever the mode."""
        update_all(self)
        names = {"motion": ("mv_y", "mv_z"), "residual": ("y", "z")}
        strings = {part: {n: [] for n in ns} for part, ns in names.items()}
        for b in range(x.shape[0]):
            one = self._compress_one(ref[b:b + 1], x[b:b + 1])
            for part, ns in names.items():
                for n in ns:
                    strings[part][n].append(one[n])
        bits = {part: {n: 8 * sum(len(s) for s in strings[part][n]) for n in ns}
                for part, ns in names.items()}
        return {"strings": strings, "shape": tuple(x.shape[-2:]), "bits": bits}

    def _compress_one(self, ref, x):
        mv_y = self.mvEncoder(self.opticFlow(x, ref))
        q_z_mv = torch.round(self.mvpriorEncoder(mv_y))
        mv_z = self.bitEstimator_z_mv.compress(q_z_mv)[0]
        q_mv = torch.round(mv_y)
        mv_y_string = self._ar_encode(q_mv, self.mvpriorDecoder(q_z_mv), self.auto_regressive_mv,
                                      self.entropy_parameters_mv)
        _, context = self._motion_context(ref, q_mv)
        temporal_prior = self.temporalPriorEncoder(context)
        y = self._encode_y(x, context)
        q_z = torch.round(self.priorEncoder(y))
        z = self.bitEstimator_z.compress(q_z)[0]
        params = torch.cat([temporal_prior, self.priorDecoder(q_z)], 1)
        y_string = self._ar_encode(torch.round(y), params, self.auto_regressive,
                                   self.entropy_parameters)
        return {"mv_y": mv_y_string, "mv_z": mv_z, "y": y_string, "z": z}

    @torch.no_grad()
    def decompress(self, ref, compressed):
        """``{"x_hat"}`` (unclamped, as ``forward``'s) from :meth:`compress`'s output."""
        update_all(self)
        height, width = compressed["shape"]
        strings = compressed["strings"]
        out = []
        for b in range(ref.shape[0]):
            one = {n: strings[part][n][b] for part in strings for n in strings[part]}
            out.append(self._decompress_one(ref[b:b + 1], one, height, width))
        return {"x_hat": torch.cat(out, 0)}

    def _decompress_one(self, ref, one, height, width):
        lh, lw, hh, hw = height // 16, width // 16, height // 64, width // 64
        q_z_mv = self.bitEstimator_z_mv.decompress([one["mv_z"]], torch.Size((1, N, hh, hw)))
        q_z_mv = q_z_mv.to(ref.device)
        q_mv = self._ar_decode(one["mv_y"], MV, lh, lw, self.mvpriorDecoder(q_z_mv),
                               self.auto_regressive_mv, self.entropy_parameters_mv)
        _, context = self._motion_context(ref, q_mv)
        temporal_prior = self.temporalPriorEncoder(context)
        q_z = self.bitEstimator_z.decompress([one["z"]], torch.Size((1, N, hh, hw))).to(ref.device)
        params = torch.cat([temporal_prior, self.priorDecoder(q_z)], 1)
        q_y = self._ar_decode(one["y"], M, lh, lw, params, self.auto_regressive,
                              self.entropy_parameters)
        return self._reconstruct(q_y, context)


CODEC = DCVC
