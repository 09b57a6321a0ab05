"""ELF-VC (Rippel et al., "ELF-VC: Efficient Learned Flexible-Rate Video Coding", ICCV 2021): the P-frame
codec, with its flexible-rate level maps, Delayed-Merge backbone, in-loop flow predictor and scale-space
compensation.

There is no public code, and the paper's layer table (its Fig. 8, "full layer specification") is not
available: the text fixes the design below; every other number is our choice, written here and in
``spaces/elfvc.yaml``. The paper's I-frame model is not part of this codec (the pipeline codes P-frames
against a given reference).

What the text fixes
    * Flow block and residue block, each an autoencoder with a hyperprior (Sec. 2, Appendix A):
      ``q0 = Q(E0(inputs))``, ``q1 = Q(E1(q0))``, ``mu0, sigma0 = D1(q1)``, outputs ``= D0(q0)``;
      ``q1 ~ N(0, sigma1)`` with ``sigma1`` a learned parameter per channel, ``q0 ~ N(mu0, sigma0)``,
      both coded by a Gaussian range coder (CompressAI's rANS here: :class:`MeanGaussianConditional`,
      which codes ``round(x)`` under ``N(mu, sigma)`` as Appendix A writes it). No context model.
    * Encoders: three DM-256 blocks at scales 4x-8x-16x; flow decoder: three DM-64, residue decoder:
      three DM-128, at 16x-8x-4x (Sec. 3.2); every block runs at 4x downsampling or coarser.
    * Level maps (Sec. 3.1): the level as an ``L``-dimensional vector (one-hot; Appendix E's embedding
      for points between levels, :mod:`search.nn.levels`), tiled spatially and concatenated to the
      input of every encoder and decoder and of the flow predictor. ``L = 8`` (Sec. 4.1).
    * In-loop flow predictor (Sec. 3.3): from the previous flow ``f_{t-1}`` and the reconstructions
      ``x_{t-2}``, ``x_{t-1}`` (no bits), a flow ``fbar_t``; the flow block decodes a mask ``m_t``
      (sigmoid) and a flow delta: ``f_t = m_t * fbar_t + delta_t``. Built of DM blocks computing
      features at two scales.
    * Scale-space compensation (Sec. 2, after Agustsson et al. 2020): the flow block also decodes a
      scale-space sigma, and ``x_comp = F(x_{t-1}, f_t, sigma)``; ``x_hat = x_comp + residue``.
    * A state propagated across blocks and frames (Sec. 2): the flow block updates it, the residue block
      outputs the state of the next frame.

Our choices (the layer table being unavailable)
    * DM-C block: :class:`search.nn.blocks.DelayedMerge` (three 3x3 convs with additive accumulation
      from the block's input, one concatenation, a 1x1 merge back to C). Because the accumulation
      starts from the input, the layer feeding a DM block has its width: those are this codec's ties.
    * Scales: 4x by pixel unshuffle (space-to-depth) of the pixel inputs; encoders go down with 3x3
      stride-2 convs, decoders up with sub-pixel convs (S); the decoders' heads are sub-pixel convs
      upsampling x4 to pixel space. LeakyReLU(0.1) inside DM blocks and after every conv_in, up, fuse,
      down and hidden hyper layer; DM merges, heads, latent and state convs are linear.
    * Latents: flow 64 channels, residue 128, at 16x; hyper latents 32 and 64 at 64x (so frames are
      padded to multiples of 64). Hyper encoders: two 3x3 stride-2 convs; hyper decoders: two 5x5
      stride-2 transposed convs and a 3x3 conv to ``(mu0, raw sigma0)``, ``sigma0 = softplus(raw)``.
    * State: 32 channels at 4x. Each decoder's 4x stage reads ``cat(upsampled features, state)``
      through a 3x3 ``fuse`` conv, and ends with a 3x3 ``state`` conv; the encoders read the state at
      their 4x input.
    * Predictor: ``cat(unshuffle(x_{t-1}), unshuffle(x_{t-2}), unshuffle(f_{t-1} / 8), level map)`` at
      4x, a 3x3 conv, two two-scale DM-64 blocks (``fine(x) + up2(coarse(avgpool2(x)))``), a sub-pixel
      head to the 2-channel flow. The flow decoder's head gives 4 channels: the flow delta (x, y), the
      scale-space sigma and the mask's logit.
    * Flows enter and leave networks in units of 8 pixels (``FLOW_SCALE``). Appendix C's channel
      normalisation (moving averages of input statistics, frozen after 2000 steps) is left out: the
      pipeline codes each P-frame from one reference, so the previous flow is always zero in training
      and frozen statistics of a constant channel would blow it up at inference.
    * Scale space: 6 levels (the image and blurs of about 2, 4, 8, 16, 32 pixels;
      :func:`search.nn.warp.scale_space_warp`), sigma in levels, clamped to [0, 5].
    * Encoder inputs: flow encoder ``cat(unshuffle(x_t, x_{t-1}, warp(x_{t-1}, fbar_t)),
      unshuffle(fbar_t / 8), state, level map)``; residue encoder ``cat(unshuffle(x_t - x_comp), state
      after the flow block, level map)``. Hyper encoders and decoders get the level map too.
    * Level: ``level=None`` is the default level ``L - 1`` (the highest rate: the pipeline trains one
      lambda, a high-quality one). ELF-VC's multi-level training (Eq. 1-2, a lambda per level) and its
      loss modulation (Appendix D) are training procedures, not part of the codec.

Interface: ``forward(ref, x, level=None, context=None)``; ``context`` carries what the predictor and the
state need from the previous frame (``previous`` = x_{t-2}, ``flow`` = f_{t-1}, ``state``); without it
(every call of the pipeline, which codes P-frames against one reference) the previous flow and state are
zero and x_{t-2} is the reference, as for the first P-frame after an I-frame. Every call returns the
``context`` of the next frame. ``compress`` records the level vector (a frame header of ``log2 L`` bits,
not counted in the strings) and ``decompress`` uses it unless given ``level``. Trained one P-frame at a
time, the residue decoder's ``state`` head gets no gradient (its output is the next frame's state) and
the predictor only ever sees a zero previous flow: training on sequences with ``context`` is what
teaches them. The searched layers never change the latents' widths, so channel masks need no special
handling of rates: the masked full model codes exactly as the sliced one.

Decoding (``decode``, whose cost is profiled)::

    fbar  = predictor(x_{t-1}, x_{t-2}, f_{t-1}, level)              # 4x DM-64 x 2 scales -> 2 ch @ 1x
    mu_f, sigma_f = flow_hyper_decoder(q1_f, level)                   # 32 ch @ 64x -> 2 x 64 ch @ 16x
    delta, sigma, mask, state' = flow_decoder(q0_f, state, level)     # DM-64 16x-8x-4x -> 4 ch @ 1x
    x_comp = scale_space_warp(x_{t-1}, sigmoid(mask) * fbar + delta, sigma)
    mu_r, sigma_r = residue_hyper_decoder(q1_r, level)                # 64 ch @ 64x -> 2 x 128 ch @ 16x
    residue, state_t = residue_decoder(q0_r, state', level)           # DM-128 16x-8x-4x -> 3 ch @ 1x
    x_hat = x_comp + residue

The layers are not in cgSlimDecoder's tables (``Layer.paper == ""``); the space searches the DM widths
and the layers tied to them.
"""
from __future__ import annotations

from numbers import Real
from typing import Mapping

import torch
import torch.nn as nn
import torch.nn.functional as F

from search.codec import Codec, Provenance, make_part
from search.entropy import MeanGaussianConditional, quantize, update_all
from search.nn.blocks import DelayedMerge
from search.nn.layers import conv, deconv, subpel
from search.nn.levels import LevelEmbedding
from search.nn.warp import flow_warp, scale_space_warp, upsample2x
from search.nn.widths import Layer, Width, Widths

LEVELS = 8                    # L (Sec. 4.1)
DEFAULT_LEVEL = LEVELS - 1    # the highest rate
ENC = 256                     # DM-256 encoders (Sec. 3.2)
FLOW, RES, PRED = 64, 128, 64  # DM-64 flow decoder, DM-128 residue decoder (Sec. 3.2); predictor (ours)
Q_FLOW, Z_FLOW = 64, 32       # flow latent @16x, its hyper latent @64x (ours)
Q_RES, Z_RES = 128, 64        # residue latent, its hyper latent (ours)
STATE = 32                    # state channels @4x (ours)
DEPTH = 3                     # convolutions per DM block (ours)
FLOW_SCALE = 8.0              # pixels per unit of flow inside the networks (ours)
SCALE_LEVELS = 5              # scale-space volume: the image and 5 blurs (ours)
FLOW_HEAD = 4                 # flow delta x, y; scale-space sigma; mask logit
UNSHUFFLE = 4                 # pixel space -> 4x

_TRUNK_NOTE = "its output starts the next DM block's accumulation: tied with that block"
_COARSE_NOTE = "the block's coarse scale: average pool x2 before, bilinear x2 after, added to the fine"
_X4_NOTE = "sub-pixel conv x4 (3x3 conv to 16 x out channels, PixelShuffle 4) to pixel space"


def _predictor_layers(prefix: str = "predictor") -> list[Layer]:
    return [
        Layer(f"{prefix}.conv_in", "C", PRED, paper="", note=_TRUNK_NOTE),
        Layer(f"{prefix}.block1.fine", "DM", PRED, paper=""),
        Layer(f"{prefix}.block1.coarse", "DM", PRED, paper="", note=_COARSE_NOTE),
        Layer(f"{prefix}.block2.fine", "DM", PRED, paper=""),
        Layer(f"{prefix}.block2.coarse", "DM", PRED, paper="", note=_COARSE_NOTE),
        Layer(f"{prefix}.head", "S", 2, arrow="↑↑", fixed="predicted flow (x, y)", paper="",
              note=_X4_NOTE),
    ]


def _decoder_layers(prefix: str, width: int, head: int, head_what: str) -> list[Layer]:
    """A DM decoder: 16x (conv_in, block1), 8x (up1, block2), 4x (up2, fuse, block3), heads."""
    return [
        Layer(f"{prefix}.conv_in", "C", width, paper="", note=_TRUNK_NOTE),
        Layer(f"{prefix}.block1", "DM", width, paper=""),
        Layer(f"{prefix}.up1", "S", width, arrow="↑", paper="", note=_TRUNK_NOTE),
        Layer(f"{prefix}.block2", "DM", width, paper=""),
        Layer(f"{prefix}.up2", "S", width, arrow="↑", paper=""),
        Layer(f"{prefix}.fuse", "C", width, paper="",
              note="reads cat(up2 output, state); " + _TRUNK_NOTE),
        Layer(f"{prefix}.block3", "DM", width, paper=""),
        Layer(f"{prefix}.head", "S", head, arrow="↑↑", fixed=head_what, paper="", note=_X4_NOTE),
        Layer(f"{prefix}.state", "C", STATE, fixed="state (32 channels @4x)", paper=""),
    ]


def _hyper_layers(prefix: str, latent: int) -> list[Layer]:
    """``D1``: 5x5 stride-2 transposed convs x2, a 3x3 conv to (mu0, raw sigma0)."""
    return [
        Layer(f"{prefix}.deconv1", "D", latent, arrow="↑", paper=""),
        Layer(f"{prefix}.deconv2", "D", latent * 3 // 2, arrow="↑", paper=""),
        Layer(f"{prefix}.conv3", "C", 2 * latent, fixed="entropy parameters (mean, scale)", paper=""),
    ]


def _decoder_ties(prefix: str) -> list[tuple[tuple[str, ...], str]]:
    reason = "a DM block's additive accumulation starts from its input"
    return [((f"{prefix}.conv_in", f"{prefix}.block1"), reason),
            ((f"{prefix}.up1", f"{prefix}.block2"), reason),
            ((f"{prefix}.fuse", f"{prefix}.block3"), reason)]


def lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.1)


def unshuffle(*images: torch.Tensor) -> torch.Tensor:
    """Pixel-space tensors to 4x by space-to-depth (each channel becomes 16)."""
    return F.pixel_unshuffle(torch.cat(images, 1), UNSHUFFLE)


def level_map(vector: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """The level vectors [B, L] tiled to the spatial size of ``like`` (Sec. 3.1's level map)."""
    b, levels = vector.shape
    return vector.view(b, levels, 1, 1).expand(b, levels, like.shape[-2], like.shape[-1])


# ---- decoder side: slimmable, in LAYERS -------------------------------------------------------------


class TwoScaleDM(nn.Module):
    """The predictor's block: a DM block at the input's scale plus one at half of it,
    ``fine(x) + up2(coarse(avgpool2(x)))`` (Sec. 3.3: "features at two scales for each block")."""

    def __init__(self, w: Widths, trunk: Width, prefix: str):
        super().__init__()
        self.fine = DelayedMerge.slim(w, trunk, w[f"{prefix}.fine"], DEPTH, row=f"{prefix}.fine")
        self.coarse = DelayedMerge.slim(w, trunk, w[f"{prefix}.coarse"], DEPTH, row=f"{prefix}.coarse")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fine(x) + upsample2x(self.coarse(F.avg_pool2d(x, 2)))


class FlowPredictor(nn.Module):
    """The in-loop flow predictor (Sec. 3.3): f_{t-1}, x_{t-2}, x_{t-1} and the level -> fbar_t."""

    def __init__(self, w: Widths, prefix: str = "predictor"):
        super().__init__()
        inputs = [w.fixed(2 * 3 * UNSHUFFLE ** 2), w.fixed(2 * UNSHUFFLE ** 2), w.fixed(LEVELS)]
        self.conv_in = conv(w, f"{prefix}.conv_in", inputs, 3)
        trunk = w[f"{prefix}.conv_in"]
        self.block1 = TwoScaleDM(w, trunk, f"{prefix}.block1")
        self.block2 = TwoScaleDM(w, trunk, f"{prefix}.block2")
        self.head = subpel(w, f"{prefix}.head", trunk, UNSHUFFLE)

    def forward(self, ref: torch.Tensor, previous: torch.Tensor, flow: torch.Tensor,
                level: torch.Tensor) -> torch.Tensor:
        x = torch.cat([unshuffle(ref, previous), unshuffle(flow / FLOW_SCALE)], 1)
        x = lrelu(self.conv_in(torch.cat([x, level_map(level, x)], 1)))
        return FLOW_SCALE * self.head(self.block2(self.block1(x)))


class DMDecoder(nn.Module):
    """``D0`` of the flow or residue block: three DM blocks at 16x-8x-4x (Sec. 3.2), the state read at
    4x, a sub-pixel head x4 to pixel space and the new state."""

    def __init__(self, w: Widths, prefix: str, latent: int, head: int):
        super().__init__()
        k = {name: f"{prefix}.{name}" for name in ("conv_in", "block1", "up1", "block2", "up2", "fuse",
                                                  "block3", "head", "state")}
        self.conv_in = conv(w, k["conv_in"], [w.fixed(latent), w.fixed(LEVELS)], 3)
        self.block1 = DelayedMerge.slim(w, w[k["conv_in"]], w[k["block1"]], DEPTH, row=k["block1"])
        self.up1 = subpel(w, k["up1"], w[k["block1"]])
        self.block2 = DelayedMerge.slim(w, w[k["up1"]], w[k["block2"]], DEPTH, row=k["block2"])
        self.up2 = subpel(w, k["up2"], w[k["block2"]])
        self.fuse = conv(w, k["fuse"], [w[k["up2"]], w.fixed(STATE)], 3)
        self.block3 = DelayedMerge.slim(w, w[k["fuse"]], w[k["block3"]], DEPTH, row=k["block3"])
        self.head = subpel(w, k["head"], w[k["block3"]], UNSHUFFLE)
        self.state = conv(w, k["state"], w[k["block3"]], 3)

    def forward(self, q: torch.Tensor, state: torch.Tensor, level: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.block1(lrelu(self.conv_in(torch.cat([q, level_map(level, q)], 1))))
        x = self.block2(lrelu(self.up1(x)))
        x = lrelu(self.up2(x))
        x = self.block3(lrelu(self.fuse(torch.cat([x, state], 1))))
        return self.head(x), self.state(x)


class HyperDecoder(nn.Module):
    """``D1``: ``mu0, sigma0`` of the latent from its hyper latent and the level map."""

    def __init__(self, w: Widths, prefix: str, hyper: int, latent: int):
        super().__init__()
        k1, k2, k3 = f"{prefix}.deconv1", f"{prefix}.deconv2", f"{prefix}.conv3"
        self.latent = latent
        self.deconv1 = deconv(w, k1, [w.fixed(hyper), w.fixed(LEVELS)], 5, 2)
        self.deconv2 = deconv(w, k2, w[k1], 5, 2)
        self.conv3 = conv(w, k3, w[k2], 3)

    def forward(self, z: torch.Tensor, level: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = lrelu(self.deconv1(torch.cat([z, level_map(level, z)], 1)))
        params = self.conv3(lrelu(self.deconv2(x)))
        return params[:, :self.latent], F.softplus(params[:, self.latent:])


# ---- encoder side: plain full-width modules (not searched, not in LAYERS) ----------------------------


class DMEncoder(nn.Module):
    """``E0``: a 3x3 conv to 256 channels at 4x, then DM-256 blocks at 4x, 8x and 16x with 3x3 stride-2
    convs between them (Sec. 3.2), and a 3x3 conv to the latent."""

    def __init__(self, in_channels: int, latent: int):
        super().__init__()
        self.conv_in = nn.Conv2d(in_channels, ENC, 3, padding=1)
        self.block1 = DelayedMerge.plain(ENC, DEPTH)
        self.down1 = nn.Conv2d(ENC, ENC, 3, 2, 1)
        self.block2 = DelayedMerge.plain(ENC, DEPTH)
        self.down2 = nn.Conv2d(ENC, ENC, 3, 2, 1)
        self.block3 = DelayedMerge.plain(ENC, DEPTH)
        self.conv_out = nn.Conv2d(ENC, latent, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.block1(lrelu(self.conv_in(x)))
        x = self.block2(lrelu(self.down1(x)))
        x = self.block3(lrelu(self.down2(x)))
        return self.conv_out(x)


class HyperEncoder(nn.Module):
    """``E1``: two 3x3 stride-2 convs on ``cat(q0, level map)`` (16x -> 64x)."""

    def __init__(self, latent: int, hyper: int):
        super().__init__()
        self.conv1 = nn.Conv2d(latent + LEVELS, latent, 3, 2, 1)
        self.conv2 = nn.Conv2d(latent, hyper, 3, 2, 1)

    def forward(self, q: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
        return self.conv2(lrelu(self.conv1(torch.cat([q, level_map(level, q)], 1))))


class HyperPrior(nn.Module):
    """``q1 ~ N(0, sigma1)`` with ``sigma1`` a learned scale per channel (Appendix A)."""

    def __init__(self, channels: int):
        super().__init__()
        self.log_scale = nn.Parameter(torch.zeros(channels))
        self.conditional = MeanGaussianConditional()

    def params(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(scales, means) shaped like the hyper latent ``like``."""
        scales = self.log_scale.exp().view(1, -1, 1, 1).expand_as(like)
        return scales, torch.zeros_like(like)

    def likelihood(self, q: torch.Tensor) -> torch.Tensor:
        return self.conditional.likelihood(q, *self.params(q))


# ---- the codec ---------------------------------------------------------------------------------------


class ELFVC(Codec):
    """ELF-VC's P-frame codec at any width layout of its decoder side (see the module docstring)."""

    LAYERS = (_predictor_layers() + _hyper_layers("flow_hyper_decoder", Q_FLOW)
              + _decoder_layers("flow_decoder", FLOW, FLOW_HEAD,
                                "flow delta (x, y), scale-space sigma, mask logit")
              + _hyper_layers("residue_hyper_decoder", Q_RES)
              + _decoder_layers("residue_decoder", RES, 3, "image output (the residue)"))
    TIES = tuple(
        [(("predictor.conv_in", "predictor.block1.fine", "predictor.block1.coarse",
           "predictor.block2.fine", "predictor.block2.coarse"),
          "the DM blocks' accumulations start from the predictor's trunk, and each block adds its two "
          "scales")]
        + _decoder_ties("flow_decoder") + _decoder_ties("residue_decoder"))
    MULTIPLE = 64
    PROVENANCE = Provenance(
        paper='Rippel et al., "ELF-VC: Efficient Learned Flexible-Rate Video Coding", ICCV 2021',
    )
    LEVELS = LEVELS
    DEFAULT_LEVEL = DEFAULT_LEVEL
    # Training presets. QUICK: 2 CPU cores (crop 64 = one multiple: latents 4x4, hyper latents 1x1).
    # PAPER: Sec. 4.1: batch 8, Adam at 7e-5, 800k iterations; the crop is not given for the main
    # training (256, our choice, fits Vimeo-90k's 448x256; the paper fine-tunes at 320x320 after), and
    # the paper's per-level lambda_reg weighs a codelength in units it does not give, so lambda is ours
    # (1024, the quick preset's).
    QUICK = {"crop": 64, "batch": 4, "lr": 2e-4, "steps": 1000, "time_limit": 270.0}
    PAPER = {"crop": 256, "batch": 8, "lr": 7e-5, "steps": 800_000, "lambda": 1024}

    def __init__(self, layout: Mapping[str, int] | None = None):
        super().__init__(layout)
        w = self.widths
        self.predictor = FlowPredictor(w)
        self.flow_hyper_decoder = HyperDecoder(w, "flow_hyper_decoder", Z_FLOW, Q_FLOW)
        self.flow_decoder = DMDecoder(w, "flow_decoder", Q_FLOW, FLOW_HEAD)
        self.residue_hyper_decoder = HyperDecoder(w, "residue_hyper_decoder", Z_RES, Q_RES)
        self.residue_decoder = DMDecoder(w, "residue_decoder", Q_RES, 3)
        # encoder side (full width, not searched) and the entropy models
        pixels = 3 * 3 * UNSHUFFLE ** 2 + 2 * UNSHUFFLE ** 2
        self.flow_encoder = DMEncoder(pixels + STATE + LEVELS, Q_FLOW)
        self.flow_hyper_encoder = HyperEncoder(Q_FLOW, Z_FLOW)
        self.residue_encoder = DMEncoder(3 * UNSHUFFLE ** 2 + STATE + LEVELS, Q_RES)
        self.residue_hyper_encoder = HyperEncoder(Q_RES, Z_RES)
        self.flow_hyper_prior = HyperPrior(Z_FLOW)
        self.residue_hyper_prior = HyperPrior(Z_RES)
        self.flow_latent = MeanGaussianConditional()
        self.residue_latent = MeanGaussianConditional()

    @classmethod
    def residual_legend(cls) -> str:
        return ("DM(c) Delayed-Merge block of ELF-VC (three 3x3 convolutions of c channels with additive "
                "accumulation from the block's input, one concatenation, a 1x1 merge back to c); ↑↑ a "
                "sub-pixel convolution upsampling x4 (3x3 conv to 16*out channels, PixelShuffle 4)")

    # -- levels and context ------------------------------------------------------------------------

    @classmethod
    def level_vector(cls, level, batch: int, device: torch.device | None = None) -> torch.Tensor:
        """[batch, L] level vectors: ``None`` (the default level), an int level, a real level between two
        (Appendix E with ``L_e = L``: linear between neighbouring one-hot vectors), a vector [L], or one
        vector per frame [batch, L]."""
        if level is None:
            level = cls.DEFAULT_LEVEL
        if isinstance(level, Real) and not isinstance(level, bool):
            vector = LevelEmbedding(cls.LEVELS, cls.LEVELS).vector(float(level))
        else:
            vector = torch.as_tensor(level, dtype=torch.float32)
        if vector.dim() == 1:
            vector = vector.unsqueeze(0).expand(batch, -1)
        if tuple(vector.shape) != (batch, cls.LEVELS):
            raise ValueError(f"level: expected an int or real in [0, {cls.LEVELS - 1}], a vector of "
                             f"{cls.LEVELS} or a [{batch}, {cls.LEVELS}] tensor; got shape "
                             f"{tuple(vector.shape)}")
        return vector.to(device=device, dtype=torch.float32)

    @staticmethod
    def first_context(ref: torch.Tensor) -> dict[str, torch.Tensor]:
        """The context of a first P-frame: x_{t-2} = ref, zero previous flow and state."""
        b, _, h, w = ref.shape
        return {"previous": ref, "flow": ref.new_zeros(b, 2, h, w),
                "state": ref.new_zeros(b, STATE, h // UNSHUFFLE, w // UNSHUFFLE)}

    def _setup(self, ref: torch.Tensor, level, context) -> tuple[torch.Tensor, dict]:
        return self.level_vector(level, ref.shape[0], ref.device), context or self.first_context(ref)

    # -- decoder side (profiled), shared by forward and decompress -----------------------------------

    def decoder_inputs(self, height, width, batch=1, generator=None):
        def rand(c, s):
            return torch.randn(batch, c, height // s, width // s, generator=generator)
        level = torch.zeros(batch, LEVELS)
        level[:, DEFAULT_LEVEL] = 1
        return {"ref": torch.rand(batch, 3, height, width, generator=generator),
                "previous": torch.rand(batch, 3, height, width, generator=generator),
                "flow_prev": 4 * rand(2, 1), "state_prev": rand(STATE, UNSHUFFLE),
                "q_flow": rand(Q_FLOW, 16).round(), "q_flow_z": rand(Z_FLOW, 64).round(),
                "q_res": rand(Q_RES, 16).round(), "q_res_z": rand(Z_RES, 64).round(), "level": level}

    def motion(self, ref, predicted, q_flow, state, level) -> dict[str, torch.Tensor]:
        """The flow block's decoder: final flow, scale, mask, compensated frame, updated state."""
        head, state = self.flow_decoder(q_flow, state, level)
        mask = torch.sigmoid(head[:, 3:4])
        flow = mask * predicted + FLOW_SCALE * head[:, :2]
        scale = head[:, 2:3]
        return {"flow": flow, "scale": scale, "mask": mask, "state": state,
                "compensated": scale_space_warp(ref, flow, scale, SCALE_LEVELS)}

    def reconstruct(self, compensated, q_res, state, level) -> tuple[torch.Tensor, torch.Tensor]:
        """The residue block's decoder: (x_hat, the next frame's state)."""
        residue, state = self.residue_decoder(q_res, state, level)
        return compensated + residue, state

    def decode(self, ref, previous, flow_prev, state_prev, q_flow, q_flow_z, q_res, q_res_z, level):
        predicted = self.predictor(ref, previous, flow_prev, level)
        flow_mu, flow_sigma = self.flow_hyper_decoder(q_flow_z, level)
        motion = self.motion(ref, predicted, q_flow, state_prev, level)
        res_mu, res_sigma = self.residue_hyper_decoder(q_res_z, level)
        x_hat, state = self.reconstruct(motion["compensated"], q_res, motion["state"], level)
        return {"x_hat": x_hat, "predicted_flow": predicted, "flow": motion["flow"],
                "scale": motion["scale"], "mask": motion["mask"], "compensated": motion["compensated"],
                "state": state, "flow_mu": flow_mu, "flow_sigma": flow_sigma, "res_mu": res_mu,
                "res_sigma": res_sigma}

    def export_parts(self, height, width, batch=1, generator=None):
        """The in-loop flow predictor, the flow decoder with scale-space compensation, the residue
        decoder, the two hyper decoders; every part takes the one-hot ``level``."""
        i = self.decoder_inputs(height, width, batch, generator)
        level = i["level"]
        with torch.no_grad():
            predicted = self.predictor(i["ref"], i["previous"], i["flow_prev"], level)
            motion = self.motion(i["ref"], predicted, i["q_flow"], i["state_prev"], level)
        cls = type(self)

        def motion_part(p, *tensors):
            out = cls.motion(p, *tensors)
            return out["flow"], out["compensated"], out["state"]

        def hyper(p, q_flow_z, q_res_z, level):
            return (*p.flow_hyper_decoder(q_flow_z, level), *p.residue_hyper_decoder(q_res_z, level))
        return [
            make_part(self, "flow_predictor", lambda p, *t: p.predictor(*t), ["predictor"],
                      {k: i[k] for k in ("ref", "previous", "flow_prev", "level")},
                      ["predicted_flow"], "the in-loop flow predictor"),
            make_part(self, "motion", motion_part, ["flow_decoder"],
                      {"ref": i["ref"], "predicted_flow": predicted, "q_flow": i["q_flow"],
                       "state_prev": i["state_prev"], "level": level},
                      ["flow", "compensated", "motion_state"], "flow decoder and scale-space warp"),
            make_part(self, "residue_decoder", cls.reconstruct, ["residue_decoder"],
                      {"compensated": motion["compensated"], "q_res": i["q_res"],
                       "motion_state": motion["state"], "level": level}, ["x_hat", "state"],
                      "the residue decoder: the frame and the next frame's state"),
            make_part(self, "hyper_decoders", hyper, ["flow_hyper_decoder", "residue_hyper_decoder"],
                      {"q_flow_z": i["q_flow_z"], "q_res_z": i["q_res_z"], "level": level},
                      ["flow_mu", "flow_sigma", "res_mu", "res_sigma"], "the two hyper decoders"),
        ]

    # -- the whole codec ---------------------------------------------------------------------------

    def _latents(self, y, hyper_encoder, hyper_prior, hyper_decoder, latent, level, training):
        """Quantise a block's latent and its hyper latent (q1 = Q(E1(q0)), Appendix A): (q0, q1,
        (sigma0, mu0), likelihoods of q0 and q1)."""
        q = quantize(y, training)
        q_z = quantize(hyper_encoder(q, level), training)
        mu, sigma = hyper_decoder(q_z, level)
        return q, q_z, (sigma, mu), {"y": latent.likelihood(q, sigma, mu), "z": hyper_prior.likelihood(q_z)}

    def _code(self, ref, x, level, context, training):
        """Encoder and decoder in one pass: latents, their Gaussian parameters, likelihoods, outputs."""
        level, context = self._setup(ref, level, context)
        predicted = self.predictor(ref, context["previous"], context["flow"], level)
        motion_in = torch.cat([unshuffle(x, ref, flow_warp(ref, predicted)),
                               unshuffle(predicted / FLOW_SCALE), context["state"]], 1)
        y_flow = self.flow_encoder(torch.cat([motion_in, level_map(level, motion_in)], 1))
        q_f, z_f, params_f, lik_f = self._latents(y_flow, self.flow_hyper_encoder, self.flow_hyper_prior,
                                                  self.flow_hyper_decoder, self.flow_latent, level,
                                                  training)
        motion = self.motion(ref, predicted, q_f, context["state"], level)
        residue_in = torch.cat([unshuffle(x - motion["compensated"]), motion["state"]], 1)
        y_res = self.residue_encoder(torch.cat([residue_in, level_map(level, residue_in)], 1))
        q_r, z_r, params_r, lik_r = self._latents(y_res, self.residue_hyper_encoder,
                                                  self.residue_hyper_prior, self.residue_hyper_decoder,
                                                  self.residue_latent, level, training)
        x_hat, state = self.reconstruct(motion["compensated"], q_r, motion["state"], level)
        return {"x_hat": x_hat, "level": level, "motion": motion, "predicted_flow": predicted,
                "q": {"motion": {"y": q_f, "z": z_f}, "residual": {"y": q_r, "z": z_r}},
                "params": {"motion": params_f, "residual": params_r},
                "likelihoods": {"motion": lik_f, "residual": lik_r},
                "context": {"previous": ref, "flow": motion["flow"], "state": state}}

    def forward(self, ref, x, level=None, context: Mapping[str, torch.Tensor] | None = None):
        """See :meth:`search.codec.Codec.forward`. ``level``: see :meth:`level_vector`; ``context``: the
        previous frame's (``out["context"]``), or None for a first P-frame. Likelihoods: ``motion``
        ``y`` (flow latent q0) and ``z`` (its hyper latent q1); ``residual`` likewise. Also returns the
        predicted and final flow, the mask, the scale, the compensated frame and the next context."""
        out = self._code(ref, x, level, context, self.training)
        motion = out["motion"]
        return {"x_hat": out["x_hat"], "likelihoods": out["likelihoods"], "context": out["context"],
                "predicted_flow": out["predicted_flow"], "flow": motion["flow"], "mask": motion["mask"],
                "scale": motion["scale"], "compensated": motion["compensated"]}

    def _coders(self):
        return {"motion": (self.flow_hyper_prior, self.flow_hyper_decoder, self.flow_latent),
                "residual": (self.residue_hyper_prior, self.residue_hyper_decoder, self.residue_latent)}

    @torch.no_grad()
    def compress(self, ref, x, level=None, context=None):
        """Rounded latents coded with CompressAI's rANS coder (Gaussian, Appendix A). Builds the coder
        tables if missing (after changing weights call ``search.entropy.update_all(model, force=True)``).
        ``level`` is recorded (``"level"``: the frame header a real stream would carry)."""
        update_all(self)
        out = self._code(ref, x, level, context, training=False)
        strings, shapes = {}, {}
        for part, (prior, _, latent) in self._coders().items():
            q = out["q"][part]
            sigma, mu = out["params"][part]
            strings[part] = {"y": latent.compress(q["y"], sigma, mu),
                             "z": prior.conditional.compress(q["z"], *prior.params(q["z"]))}
            shapes[part] = tuple(q["z"].shape)
        return {"strings": strings, "shapes": shapes, "level": out["level"]}

    @torch.no_grad()
    def decompress(self, ref, compressed, level=None, context=None):
        """``{"x_hat", "context"}`` from :meth:`compress`'s output (the recorded level unless ``level``
        is given, and the same ``context`` as the encoder's)."""
        update_all(self)
        level, context = self._setup(ref, compressed["level"] if level is None else level, context)
        q = {}
        for part, (prior, hyper_decoder, latent) in self._coders().items():
            strings = compressed["strings"][part]
            like = torch.zeros(compressed["shapes"][part], device=ref.device)
            q_z = prior.conditional.decompress(strings["z"], *prior.params(like)).to(ref.device)
            mu, sigma = hyper_decoder(q_z, level)
            q[part] = latent.decompress(strings["y"], sigma, mu).to(ref.device)
        predicted = self.predictor(ref, context["previous"], context["flow"], level)
        motion = self.motion(ref, predicted, q["motion"], context["state"], level)
        x_hat, state = self.reconstruct(motion["compensated"], q["residual"], motion["state"], level)
        return {"x_hat": x_hat, "context": {"previous": ref, "flow": motion["flow"], "state": state}}


CODEC = ELFVC
