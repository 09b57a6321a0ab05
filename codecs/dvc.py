"""DVC (Lu et al., "DVC: An End-to-end Deep Video Compression Framework", CVPR 2019): the whole codec.

Follows the public PyTorch re-implementation (ZhihaoHu/PyTorchVideoCompression, ``DVC/``): module and
parameter names are theirs (``mvDecoder``, ``warpnet``, ``resDecoder``, ``respriorDecoder``), so their
checkpoints load strictly. Channel constants of that code: N=64, M=96, mv=128.

Decoding (``DVC/net.py``)::

    mv = mvDecoder(q_mv)                                   # 128 ch @ H/16 -> 2 ch @ H
    warped = flow_warp(ref, mv)
    prediction = warpnet(cat(warped, ref)) + warped        # motion compensation
    x_hat = prediction + resDecoder(q_res)                 # 96 ch @ H/16 -> 3 ch @ H
    sigma = respriorDecoder(z)                             # hyper decoder: Laplace scales of q_res

Where the code and cgSlimDecoder's Table S1 differ, ``Layer.paper`` keeps the table's notation.

Encoding (``VideoCompressor.forward``), with the public names (``opticFlow``, ``mvEncoder``,
``resEncoder``, ``respriorEncoder``, ``bitEstimator_mv``, ``bitEstimator_z``)::

    flow = opticFlow(x, ref)                               # SpyNet, 4 levels of 5 convs 7x7
    q_mv = Q(mvEncoder(flow))                              # 2 ch @ H -> 128 ch @ H/16, factorized prior
    prediction = motion compensation of ref by mvDecoder(q_mv)          (decoder side, shared)
    y = resEncoder(x - prediction); z = respriorEncoder(y)              # 96 ch @ H/16, 64 ch @ H/64
    q_z = Q(z) (factorized prior), q_y = Q(y) ~ Laplace(0, respriorDecoder(q_z))

Differences from the public code (all deliberate):

* SpyNet's pretrained weights (``flow_pretrain_np/``) cannot be fetched here: ``opticFlow`` keeps the
  public structure and keys but is initialised randomly, with the last conv of every level at zero so
  that the untrained flow starts at zero (identity warp). Load converted weights to match the paper.
* Entropy coding is CompressAI's rANS (``compress``/``decompress``) instead of ``torch_ac``; likelihoods
  are lower-bounded at 1e-9 instead of ``+1e-5`` inside the log, and the rate is not clipped to
  [0, 50] bits per element; Laplace scales are lower-bounded at 0.11 (see :mod:`search.entropy`).
* ``forward`` returns the reconstruction unclamped and the likelihoods (our interface); the
  auxiliary warp/prediction terms of the public training (weight 0.1 for the first 500k steps) can be
  built from the returned ``warped`` and ``prediction``.
* Flow warping uses ``align_corners=True`` grid sampling with the same pixel normalisation as the
  public ``torch_warp`` (:func:`search.nn.warp.flow_warp`), and SpyNet's coarse-to-fine upsampling is
  bilinear without corner alignment, as in the public ``bilinearupsacling``.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from compressai.layers import GDN

from search.codec import Codec, Provenance, make_part
from search.entropy import BitEstimator, LaplaceConditional, quantize, update_all
from search.nn.blocks import ResBlock
from search.nn.layers import SlimGDN, conv, deconv, nonpersistent_buffers
from search.nn.warp import flow_warp, upsample2x
from search.nn.widths import Layer, Widths

N, M, MV = 64, 96, 128

_MV_LAYERS = [Layer(f"mvDecoder.deconv{i}", "D" if i % 2 else "C", MV, arrow="↑" if i % 2 else "")
              for i in range(1, 8)]
_MV_LAYERS.append(Layer("mvDecoder.deconv8", "C", 2, fixed="flow output"))

_MC_LAYERS = [
    Layer("warpnet.feature_ext", "C", 64),
    Layer("warpnet.conv0", "R", 64, arrow="↓"),
    Layer("warpnet.conv1", "R", 64, arrow="↓"),
    Layer("warpnet.conv2", "R", 64),
    Layer("warpnet.conv3", "R", 64, arrow="↑"),
    Layer("warpnet.conv4", "R", 64, arrow="↑"),
    Layer("warpnet.conv5", "R", 64),
    Layer("warpnet.conv6", "C", 3, fixed="image output", paper="D(64,3)",
          note="the public code ends with a stride-1 Conv2d(64,3,3), not a deconvolution"),
]

_RES_NOTE = "the public PyTorch code has N=64 hidden channels (the table prints 96)"
_RES_LAYERS = [
    Layer("resDecoder.deconv1", "D", N, arrow="↑", paper="D(96,96)↑", note=_RES_NOTE),
    Layer("resDecoder.deconv2", "D", N, arrow="↑", paper="D(96,96)↑", note=_RES_NOTE),
    Layer("resDecoder.deconv3", "D", N, arrow="↑", paper="D(96,96)↑", note=_RES_NOTE),
    Layer("resDecoder.deconv4", "D", 3, arrow="↑", fixed="image output", paper="D(96,3)↑",
          note=_RES_NOTE),
]

_PRIOR_LAYERS = [
    Layer("respriorDecoder.deconv1", "D", N, arrow="↑", paper=""),
    Layer("respriorDecoder.deconv2", "D", N, arrow="↑", paper=""),
    Layer("respriorDecoder.deconv3", "D", M, fixed="entropy parameters (scales)", paper=""),
]


class SynthesisMV(nn.Module):
    """``Synthesis_mv_net``: 4 x (ConvT 3x3 s2, Conv 3x3), LeakyReLU(0.1) after all but the last."""

    def __init__(self, w: Widths, prefix: str = "mvDecoder"):
        super().__init__()
        width_in = w.fixed(MV)
        for i in range(1, 9):
            key = f"{prefix}.deconv{i}"
            build = deconv if i % 2 else conv
            setattr(self, f"deconv{i}", build(w, key, width_in, 3, 2 if i % 2 else 1))
            width_in = w[key]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i in range(1, 8):
            x = F.leaky_relu(getattr(self, f"deconv{i}")(x), 0.1)
        return self.deconv8(x)


class WarpNet(nn.Module):
    """``Warp_net``: the motion compensation U-Net of ResBlocks (avg-pool down, bilinear up + skip)."""

    def __init__(self, w: Widths, prefix: str = "warpnet"):
        super().__init__()
        trunk = w[f"{prefix}.feature_ext"]
        frames = [w.fixed(3), w.fixed(3)]
        self.feature_ext = conv(w, f"{prefix}.feature_ext", frames, 3)
        for i in range(6):
            key = f"{prefix}.conv{i}"
            setattr(self, f"conv{i}", ResBlock.slim(w, trunk, w[key], row=key))
        self.conv6 = conv(w, f"{prefix}.conv6", trunk, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.feature_ext(x))
        c0 = self.conv0(x)
        c1 = self.conv1(F.avg_pool2d(c0, 2))
        c3 = self.conv3(self.conv2(F.avg_pool2d(c1, 2)))
        c4 = self.conv4(c1 + upsample2x(c3))
        c5 = self.conv5(c0 + upsample2x(c4))
        return self.conv6(c5)


class Synthesis(nn.Module):
    """``Synthesis_net``: 4 x ConvT 5x5 s2, IGDN after the first three."""

    def __init__(self, w: Widths, prefix: str = "resDecoder"):
        super().__init__()
        width_in = w.fixed(M)
        for i in range(1, 5):
            key = f"{prefix}.deconv{i}"
            setattr(self, f"deconv{i}", deconv(w, key, width_in, 5, 2))
            if i < 4:
                setattr(self, f"igdn{i}", SlimGDN(w, w[key], inverse=True, row=key))
            width_in = w[key]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i in range(1, 4):
            x = getattr(self, f"igdn{i}")(getattr(self, f"deconv{i}")(x))
        return self.deconv4(x)


class SynthesisPrior(nn.Module):
    """``Synthesis_prior_net``: ConvT 5x5 s2 + ReLU twice, ConvT 3x3 s1, exp (Laplace scales)."""

    def __init__(self, w: Widths, prefix: str = "respriorDecoder"):
        super().__init__()
        width_in = w.fixed(N)
        specs = [(5, 2), (5, 2), (3, 1)]
        for i, (k, s) in enumerate(specs, 1):
            key = f"{prefix}.deconv{i}"
            setattr(self, f"deconv{i}", deconv(w, key, width_in, k, s))
            width_in = w[key]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.deconv1(z))
        x = F.relu(self.deconv2(x))
        return torch.exp(self.deconv3(x))


# ----------------------------------------------------------------------------------------------------
# Encoder side: plain modules at fixed widths (not searched, not in LAYERS), public names and keys.


def _init(conv: nn.Module, gain: float, bias: float = 0.01, uniform: bool = False) -> None:
    """The public code's initialisation: Xavier (normal, or uniform for Warp_net) and a constant bias."""
    (nn.init.xavier_uniform_ if uniform else nn.init.xavier_normal_)(conv.weight.data, gain)
    if conv.bias is not None:
        nn.init.constant_(conv.bias.data, bias)


class MEBasic(nn.Module):
    """SpyNet's per-level network (``MEBasic``): 5 convs 7x7, 8 -> 32 -> 64 -> 32 -> 16 -> 2, ReLU.
    Input: [frame, warped reference, upsampled flow] (3 + 3 + 2 channels); output: a flow residual."""

    def __init__(self):
        super().__init__()
        widths = [8, 32, 64, 32, 16, 2]
        for i in range(1, 6):
            setattr(self, f"conv{i}", nn.Conv2d(widths[i - 1], widths[i], 7, 1, padding=3))
        # Not public: pretrained SpyNet weights are unavailable, so the flow residual starts at zero.
        nn.init.zeros_(self.conv5.weight)
        nn.init.zeros_(self.conv5.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i in range(1, 5):
            x = F.relu(getattr(self, f"conv{i}")(x))
        return self.conv5(x)


class MESpynet(nn.Module):
    """``ME_Spynet``: coarse-to-fine flow over a 4-level average-pooled pyramid, from zero flow at
    1/16 resolution; each level upsamples (x2, values x2), warps the reference and adds a residual."""

    def __init__(self, levels: int = 4):
        super().__init__()
        self.L = levels
        self.moduleBasic = nn.ModuleList([MEBasic() for _ in range(levels)])

    def forward(self, im1: torch.Tensor, im2: torch.Tensor) -> torch.Tensor:
        """Flow that warps ``im2`` (the reference) onto ``im1`` (the frame to code)."""
        im1s, im2s = [im1], [im2]
        for _ in range(self.L - 1):
            im1s.append(F.avg_pool2d(im1s[-1], 2, 2))
            im2s.append(F.avg_pool2d(im2s[-1], 2, 2))
        coarse = im2s[-1]
        flow = coarse.new_zeros(coarse.shape[0], 2, coarse.shape[2] // 2, coarse.shape[3] // 2)
        for level in range(self.L):
            up = F.interpolate(flow, scale_factor=2, mode="bilinear", align_corners=False) * 2.0
            a, b = im1s[self.L - 1 - level], im2s[self.L - 1 - level]
            flow = up + self.moduleBasic[level](torch.cat([a, flow_warp(b, up), up], 1))
        return flow


class AnalysisMV(nn.Module):
    """``Analysis_mv_net``: 4 x (Conv 3x3 s2, Conv 3x3), LeakyReLU(0.1) after all but the last;
    2 ch @ H -> 128 ch @ H/16."""

    def __init__(self):
        super().__init__()
        width_in = 2
        for i in range(1, 9):
            conv = nn.Conv2d(width_in, MV, 3, stride=2 if i % 2 else 1, padding=1)
            _init(conv, math.sqrt(2 * (2 + MV) / 4) if i == 1 else math.sqrt(2))
            setattr(self, f"conv{i}", conv)
            width_in = MV

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i in range(1, 8):
            x = F.leaky_relu(getattr(self, f"conv{i}")(x), 0.1)
        return self.conv8(x)


class Analysis(nn.Module):
    """``Analysis_net``: 4 x Conv 5x5 s2, GDN after the first three; 3 ch @ H -> 96 ch @ H/16."""

    def __init__(self):
        super().__init__()
        widths = [3, N, N, N, M]
        gains = [math.sqrt(2 * (3 + N) / 6), math.sqrt(2), math.sqrt(2), math.sqrt(2 * (M + N) / (2 * N))]
        for i in range(1, 5):
            conv = nn.Conv2d(widths[i - 1], widths[i], 5, stride=2, padding=2)
            _init(conv, gains[i - 1])
            setattr(self, f"conv{i}", conv)
            if i < 4:
                setattr(self, f"gdn{i}", GDN(widths[i]))
        nonpersistent_buffers(self)  # the public GDN keeps only beta and gamma in its state dict

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i in range(1, 4):
            x = getattr(self, f"gdn{i}")(getattr(self, f"conv{i}")(x))
        return self.conv4(x)


class AnalysisPrior(nn.Module):
    """``Analysis_prior_net``: |y|, Conv 3x3 + ReLU, Conv 5x5 s2 + ReLU, Conv 5x5 s2; 96 -> 64 ch @ /4."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(M, N, 3, stride=1, padding=1)
        self.conv2 = nn.Conv2d(N, N, 5, stride=2, padding=2)
        self.conv3 = nn.Conv2d(N, N, 5, stride=2, padding=2)
        _init(self.conv1, math.sqrt(2 * (M + N) / (2 * M)))
        _init(self.conv2, math.sqrt(2))
        _init(self.conv3, math.sqrt(2))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(torch.abs(y)))
        x = F.relu(self.conv2(x))
        return self.conv3(x)


def _init_decoder_like_public(codec: "DVC") -> None:
    """The public initialisation of the decoder-side modules (ours are slimmable, built in widths)."""
    for i in range(1, 9):
        gain = math.sqrt(2 * (MV + 2) / (2 * MV)) if i == 8 else math.sqrt(2)
        _init(getattr(codec.mvDecoder, f"deconv{i}"), gain)
    warp = codec.warpnet
    for layer in [warp.feature_ext, warp.conv6] + [getattr(getattr(warp, f"conv{i}"), c)
                                                   for i in range(6) for c in ("conv1", "conv2")]:
        _init(layer, 1.0, 0.0, uniform=True)
    res_gains = [math.sqrt(2 * (M + N) / (2 * M)), math.sqrt(2), math.sqrt(2),
                 math.sqrt(2 * (N + 3) / (2 * N))]
    for i, gain in enumerate(res_gains, 1):
        _init(getattr(codec.resDecoder, f"deconv{i}"), gain)
    prior_gains = [math.sqrt(2), math.sqrt(2), math.sqrt(2 * (M + N) / (2 * N))]
    for i, gain in enumerate(prior_gains, 1):
        _init(getattr(codec.respriorDecoder, f"deconv{i}"), gain)


class DVC(Codec):
    """DVC, whole (encoder, decoder side at any width layout, entropy models)."""

    LAYERS = _MV_LAYERS + _MC_LAYERS + _RES_LAYERS + _PRIOR_LAYERS
    TIES = ()
    MULTIPLE = 64
    PROVENANCE = Provenance(
        paper='Lu et al., "DVC: An End-to-end Deep Video Compression Framework", CVPR 2019',
        code="https://github.com/ZhihaoHu/PyTorchVideoCompression (DVC/)",
    )
    #: quick CPU preset of the trainer (2 cores, minutes).
    QUICK = {"crop": 64, "batch": 4, "lr": 3e-4, "steps": 1000, "time_limit": 270.0}
    #: the paper's training (Lu et al. 2019, sec. 4.1: Vimeo-90k 256x256 crops, batch 4, Adam at 1e-4,
    #: lambda in {256, 512, 1024, 2048}); the paper gives no iteration count: steps and lambda are the
    #: public PyTorch code's defaults (DVC/main.py: tot_step = 2,000,000 with lr / 10 after 1.8M,
    #: train_lambda = 2048).
    PAPER = {"crop": 256, "batch": 4, "lr": 1e-4, "steps": 2_000_000, "lambda": 2048.0}

    def __init__(self, layout=None):
        super().__init__(layout)
        w = self.widths
        # The public VideoCompressor's order of modules (so state dicts list keys in its order).
        self.opticFlow = MESpynet()
        self.mvEncoder = AnalysisMV()
        self.mvDecoder = SynthesisMV(w)
        self.warpnet = WarpNet(w)
        self.resEncoder = Analysis()
        self.resDecoder = Synthesis(w)
        self.respriorEncoder = AnalysisPrior()
        self.respriorDecoder = SynthesisPrior(w)
        self.bitEstimator_z = BitEstimator(N)
        self.bitEstimator_mv = BitEstimator(MV)
        # Not a public module: the Laplace coder of the residual latent (no parameters, no keys).
        self.res_laplace = LaplaceConditional()
        _init_decoder_like_public(self)

    # -- decoder side (what GMACs count) -------------------------------------------------------

    def decoder_inputs(self, height, width, batch=1, generator=None):
        def rand(c, s):
            return torch.randn(batch, c, height // s, width // s, generator=generator)
        return {"ref": torch.rand(batch, 3, height, width, generator=generator),
                "q_mv": rand(MV, 16).round(), "q_res": rand(M, 16).round(), "q_z": rand(N, 64).round()}

    def decode_motion(self, ref, q_mv):
        """Motion decoding and compensation: the prediction of the frame from ``ref``."""
        mv = self.mvDecoder(q_mv)
        return {"mv": mv, **self.compensate(ref, mv)}

    def compensate(self, ref, mv):
        """Motion compensation: ``ref`` warped by the flow ``mv``, refined by the warp net."""
        warped = flow_warp(ref, mv)
        return {"warped": warped, "prediction": self.warpnet(torch.cat([warped, ref], 1)) + warped}

    def reconstruct(self, prediction, q_res):
        """Residual decoding: the reconstructed frame."""
        return prediction + self.resDecoder(q_res)

    def decode(self, ref, q_mv, q_res, q_z):
        motion = self.decode_motion(ref, q_mv)
        return {"x_hat": self.reconstruct(motion["prediction"], q_res), "mv": motion["mv"],
                "prediction": motion["prediction"], "res_sigma": self.respriorDecoder(q_z)}

    def export_parts(self, height, width, batch=1, generator=None):
        """Motion decoder, motion compensation, residual decoder, hyper decoder (``search.export``)."""
        inputs = self.decoder_inputs(height, width, batch, generator)
        ref, q_mv, q_res, q_z = (inputs[k] for k in ("ref", "q_mv", "q_res", "q_z"))
        with torch.no_grad():
            mv = self.mvDecoder(q_mv)
            prediction = self.compensate(ref, mv)["prediction"]
        cls = type(self)
        return [
            make_part(self, "motion_decoder", lambda p, q: p.mvDecoder(q), ["mvDecoder"],
                      {"q_mv": q_mv}, ["mv"], "the flow from the motion latent"),
            make_part(self, "motion_compensation", cls.compensate, ["warpnet"],
                      {"ref": ref, "mv": mv}, ["prediction"], "warp of the reference + warp net"),
            make_part(self, "residual_decoder", cls.reconstruct, ["resDecoder"],
                      {"prediction": prediction, "q_res": q_res}, ["x_hat"],
                      "the frame: prediction + decoded residual"),
            make_part(self, "hyper_decoder", lambda p, z: p.respriorDecoder(z), ["respriorDecoder"],
                      {"q_z": q_z}, ["res_sigma"], "Laplace scales of the residual latent"),
        ]

    # -- the whole codec -----------------------------------------------------------------------

    def forward(self, ref, x):
        flow = self.opticFlow(x, ref)
        q_mv, mv_likelihood = self.bitEstimator_mv(self.mvEncoder(flow))
        motion = self.decode_motion(ref, q_mv)
        y = self.resEncoder(x - motion["prediction"])
        q_z, z_likelihood = self.bitEstimator_z(self.respriorEncoder(y))
        q_y = quantize(y, self.training)
        y_likelihood = self.res_laplace.likelihood(q_y, self.respriorDecoder(q_z))
        return {"x_hat": self.reconstruct(motion["prediction"], q_y),
                "likelihoods": {"motion": {"mv": mv_likelihood},
                                "residual": {"y": y_likelihood, "z": z_likelihood}},
                "prediction": motion["prediction"], "warped": motion["warped"], "flow": flow}

    @torch.no_grad()
    def compress(self, ref, x):
        """Bitstreams of one P-frame. Builds the coder tables if missing: after changing weights call
        ``search.entropy.update_all(model, force=True)``."""
        update_all(self)
        mv_latent = self.mvEncoder(self.opticFlow(x, ref))
        mv_strings = self.bitEstimator_mv.compress(mv_latent)
        motion = self.decode_motion(ref, torch.round(mv_latent))
        y = self.resEncoder(x - motion["prediction"])
        z = self.respriorEncoder(y)
        z_strings = self.bitEstimator_z.compress(z)
        sigma = self.respriorDecoder(torch.round(z))
        y_strings = self.res_laplace.compress(y, self.res_laplace.build_indexes(sigma))
        return {"strings": {"motion": {"mv": mv_strings}, "residual": {"y": y_strings, "z": z_strings}},
                "shapes": {"mv": tuple(mv_latent.shape), "z": tuple(z.shape)}}

    @torch.no_grad()
    def decompress(self, ref, compressed):
        update_all(self)
        strings, shapes = compressed["strings"], compressed["shapes"]
        q_mv = self.bitEstimator_mv.decompress(strings["motion"]["mv"], shapes["mv"]).to(ref.device)
        motion = self.decode_motion(ref, q_mv)
        q_z = self.bitEstimator_z.decompress(strings["residual"]["z"], shapes["z"]).to(ref.device)
        sigma = self.respriorDecoder(q_z)
        q_y = self.res_laplace.decompress(strings["residual"]["y"],
                                          self.res_laplace.build_indexes(sigma)).to(ref.device)
        return {"x_hat": self.reconstruct(motion["prediction"], q_y)}


CODEC = DVC
