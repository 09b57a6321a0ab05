"""FVC (Hu et al., "FVC: A New Framework towards Deep Video Compression in Feature Space", CVPR 2021),
the whole codec: the decoder side
(searched) and the encoder side (fixed, full width).

Follows the official PyTorch code (ZhihaoHu/PyTorchVideoCompression, ``FVC/``): module and parameter
names are theirs (``Encoder``, ``aligner``, ``resDecoder``, ``Decoder``, ``OffsetPriorDecoder``,
``resPriorDecoder``, ``EntropyCoding_offsetf``/``EntropyCoding_residualf``), so their checkpoints load
strictly on the decoder keys. Channel constants of that code (``FVC/subnet/basics.py``):
out_channel_M=64 (features), out_channel_resN=out_channel_resM=out_channel_mv=128 (latents).

Decoding (``FVC/net.py`` ``AlignMultiFeature``/``AddResidual``/``forward``)::

    ref_feature = Encoder(ref)                               # 3 ch @ H -> 64 ch @ H/2 (runs at the decoder)
    offset_feat = aligner.offset_decoder(q_offset)           # 128 ch @ H/16 -> 64 ch @ H/2
    aligned = aligner.deformable_convolution([ref_feature, offset_feat])   # DCNv1, 8 groups
    aligned = aligned + lrelu(refine_conv2(lrelu(refine_conv1(cat(aligned, ref_feature)))))
    recon_feature = aligned + resDecoder(q_res)              # 128 ch @ H/16 -> 64 ch @ H/2
    x_hat = Decoder(recon_feature)                           # 64 ch @ H/2 -> 3 ch @ H

and, for the entropy model of the two latents (``FVC/subnet/bitEstimator.py``
``NIPS18nocEntropyCoder``)::

    musigma = EntropyCoding_offsetf.parameters_net(OffsetPriorDecoder(q_offset_z))   # 256 ch @ H/16
    mu, sigma = musigma[:, :128], musigma[:, 128:] ** 2        # Gaussian of q_offset (same for q_res)

Encoding (``FVC/net.py`` ``forward``, ``AlignMultiFeature``, ``AddResidual``; the public module and
parameter names, so a public ``VideoCompressor`` checkpoint loads strictly into the whole model)::

    input_feature = Encoder(x)
    en_offset = aligner.offset_encoder(lrelu(offset_conv3(lrelu(offset_conv1(cat(ref_f, input_f))))))
    q_offset_z = Q(OffsetPriorEncoder(en_offset))     # EntropyCoding_offsetz: factorized (BitEstimator)
    q_offset = Q(en_offset)                           # EntropyCoding_offsetf: Gaussian(mu, sigma)
    aligned = aligner(ref_feature, q_offset)          # the decoder side, as above
    y_res = resEncoder(input_feature - aligned); q_res_z = Q(resPriorEncoder(y_res)); q_res = Q(y_res)

``Q`` adds U(-0.5, 0.5) noise in training and rounds in evaluation. The public latents are Gaussian
(``NIPS18nocEntropyCoder`` uses ``torch.distributions.normal.Normal(mu, sigma)``), coded here with
:class:`search.entropy.MeanGaussianConditional` (a CompressAI ``GaussianConditional`` that keeps the
public ``round(x)`` quantisation); the hyper-latents use the factorized ``ICLR17EntropyCoder``
(:class:`search.entropy.BitEstimator`, same ``f1..f4`` keys). Differences from the public code: the
Gaussian's scale is lower-bounded at 0.11 (CompressAI) instead of 1e-5 and likelihoods at 1e-9 instead
of ``+1e-5`` inside the log without the 50-bit clamp; the public training forward also decodes
``Decoder(input_feature)`` and ``Decoder(aligned)`` for auxiliary losses: ``forward(..., aux=True)``
returns the latter (``x_align``), not the former (its width would follow ``Encoder.conv1``, not the
decoder's trunk). At a sliced layout the encoder side still runs at full width: the (narrower) features
it reads are zero-padded to 64 channels, which is exactly what the masked full model feeds it.

Where the code and cgSlimDecoder's Table S2 differ, ``Layer.paper`` keeps the table's notation; the
table omits the deformable convolution and its offset convolution (``paper=""``), and the entropy
networks (hyper decoders, parameter nets) are not in it at all.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from search.codec import Codec, Provenance, make_part
from search.entropy import BitEstimator, MeanGaussianConditional, update_all
from search.nn.blocks import Resblocks
from search.nn.layers import SlimDeformConv2d, conv, deconv
from search.nn.widths import Layer, Width, Widths

NF, MV, RES = 64, 128, 128          # out_channel_M, out_channel_mv, out_channel_resN/resM
GROUPS = 8                          # deformable groups of PCD_Align's DCNv1
OFFSETS = GROUPS * 2 * 3 * 3        # 144 offsets of a 3x3 DCN


def _latent_decoder_layers(prefix: str) -> list[Layer]:
    """``OffsetDecodeNet`` / ``ResDecodeNet``: D↑ R D↑ R D(128,64)↑."""
    return [
        Layer(f"{prefix}.deconv1", "D", 128, arrow="↑"),
        Layer(f"{prefix}.res1", "R", 128),
        Layer(f"{prefix}.deconv2", "D", 128, arrow="↑"),
        Layer(f"{prefix}.res2", "R", 128),
        Layer(f"{prefix}.deconv3", "D", NF, arrow="↑"),
    ]


_FE_LAYERS = [
    Layer("Encoder.conv1", "C", NF, arrow="↓"),
    Layer("Encoder.feature_extraction", "R", NF),
]

_MC_LAYERS = [
    Layer("aligner.deformable_convolution.conv_offset", "C", OFFSETS,
          fixed="DCN offsets (8 deformable groups x 2 x 3x3)", paper="",
          note="offset conv of the deformable convolution; the table omits it"),
    Layer("aligner.deformable_convolution", "DC", NF, paper="",
          note="DCNv1 (DeformConvPack, 8 deformable groups, no bias); the table omits it"),
    Layer("aligner.refine_conv1", "C", NF),
    Layer("aligner.refine_conv2", "C", NF),
]

_RECON_LAYERS = [
    Layer("Decoder.recon_trunk", "R", NF),
    Layer("Decoder.deconv1", "D", 3, arrow="↑", fixed="image output", paper="C(64,3)↑",
          note="the public code ends with ConvTranspose2d(64,3,5,s2,p2,op1), not a conv + upsample"),
]


def _prior_layers(prefix: str) -> list[Layer]:
    """``OffsetPriorDecodeNet`` / ``ResPriorDecodeNet`` (hyper decoders, not in the paper's table)."""
    return [
        Layer(f"{prefix}.deconv1", "D", MV, arrow="↑", paper=""),
        Layer(f"{prefix}.deconv2", "D", MV * 3 // 2, arrow="↑", paper=""),
        Layer(f"{prefix}.deconv3", "D", MV * 2, fixed="entropy parameters (hyper prior)", paper=""),
    ]


def _param_layers(prefix: str) -> list[Layer]:
    """``Parameter_net`` of ``NIPS18nocEntropyCoder`` (1x1 convs, not in the paper's table)."""
    return [
        Layer(f"{prefix}.conv1", "C", 512, paper=""),
        Layer(f"{prefix}.conv2", "C", 512, paper=""),
        Layer(f"{prefix}.res0", "R", 512, paper="", note="Resblocks(512, ks=1): 1x1 convs"),
        Layer(f"{prefix}.conv3", "C", MV * 2, fixed="entropy parameters (mean, scale)", paper=""),
    ]


class FeatureEncoder(nn.Module):
    """``FeatureEncoder``: Conv 5x5 s2 (no activation; its ``lrelu`` is unused), ``Resblocks(64)``."""

    def __init__(self, w: Widths, prefix: str = "Encoder"):
        super().__init__()
        width = w[f"{prefix}.conv1"]
        self.conv1 = conv(w, f"{prefix}.conv1", w.fixed(3), 5, 2, 2)
        self.feature_extraction = Resblocks.slim(w, width, w[f"{prefix}.feature_extraction"],
                                                 row=f"{prefix}.feature_extraction")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.feature_extraction(self.conv1(x))


class LatentDecoder(nn.Module):
    """``OffsetDecodeNet`` / ``ResDecodeNet``: ConvT 5x5 s2 (p2, op1), ``Resblocks(128)``, twice, then
    ConvT 5x5 s2 to 64 channels. No activations."""

    def __init__(self, w: Widths, prefix: str, in_channels: int):
        super().__init__()
        width_in = w.fixed(in_channels)
        for i in (1, 2, 3):
            key = f"{prefix}.deconv{i}"
            setattr(self, f"deconv{i}", deconv(w, key, width_in, 5, 2, 2, 1))
            if i < 3:
                setattr(self, f"res{i}", Resblocks.slim(w, w[key], w[f"{prefix}.res{i}"],
                                                        row=f"{prefix}.res{i}"))
            width_in = w[key]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.res1(self.deconv1(x))
        x = self.res2(self.deconv2(x))
        return self.deconv3(x)


# ---- encoder side: plain full-width modules (not searched, not in LAYERS) --------------------------


def padit(x: torch.Tensor) -> torch.Tensor:
    """The public ``Padit`` (replicate padding when a side is odd; a no-op at multiples of 64)."""
    if x.shape[2] % 2 == 1 or x.shape[3] % 2 == 1:
        return F.pad(x, (0, 2 - x.shape[3] % 2, 0, 2 - x.shape[2] % 2), mode="replicate")
    return x


class LatentEncoder(nn.Module):
    """``OffsetEncodeNet`` / ``ResEncodeNet``: Conv 5x5 s2 + ``Resblocks(128)``, twice, then Conv 5x5 s2
    (64 -> 128 channels, H/2 -> H/16). No activations; the offset encoder applies ``Padit`` before
    ``conv3``."""

    def __init__(self, in_channels: int, channels: int, pad: bool = False):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 5, 2, 2)
        self.res1 = Resblocks.plain(channels)
        self.conv2 = nn.Conv2d(channels, channels, 5, 2, 2)
        self.res2 = Resblocks.plain(channels)
        self.conv3 = nn.Conv2d(channels, channels, 5, 2, 2)
        self.pad = pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.res1(self.conv1(x))
        x = self.res2(self.conv2(x))
        return self.conv3(padit(x) if self.pad else x)


class PriorEncoder(nn.Module):
    """``OffsetPriorEncodeNet`` / ``ResPriorEncodeNet``: Conv 3x3 s1 + LReLU(0.2), Conv 5x5 s2 +
    LReLU(0.2), Conv 5x5 s2 (128 channels throughout, H/16 -> H/64)."""

    def __init__(self, channels: int = MV):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, 1, 1)
        self.conv2 = nn.Conv2d(channels, channels, 5, 2, 2)
        self.conv3 = nn.Conv2d(channels, channels, 5, 2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.conv1(x), 0.2)
        x = F.leaky_relu(self.conv2(x), 0.2)
        return self.conv3(x)


def to_full(feature: torch.Tensor, channels: int = NF) -> torch.Tensor:
    """Zero-pad a (sliced) feature to the full width the encoder side reads."""
    missing = channels - feature.shape[1]
    return F.pad(feature, (0, 0, 0, 0, 0, missing)) if missing > 0 else feature


class PCDAlign(nn.Module):
    """The decoder side of ``PCD_Align`` (``MotionCompensation``): offset decoder, DCNv1 on the reference
    feature with offsets from ``conv_offset(offset features)``, then the refinement
    ``aligned + lrelu(refine_conv2(lrelu(refine_conv1(cat(aligned, ref_feature)))))`` (LeakyReLU 0.1).
    The encoder side (``MotionEstimation``: ``offset_conv1``, ``offset_conv3``, ``offset_encoder``) is
    built at full width; :meth:`motion_estimation` runs it."""

    def __init__(self, w: Widths, ref: Width, prefix: str = "aligner"):
        super().__init__()
        self.offset_conv1 = nn.Conv2d(NF * 2, NF, 3, 1, 1)
        self.offset_conv3 = nn.Conv2d(NF, NF, 3, 1, 1)
        self.offset_encoder = LatentEncoder(NF, MV, pad=True)
        self.offset_decoder = LatentDecoder(w, f"{prefix}.offset_decoder", MV)
        offset_feat = w[f"{prefix}.offset_decoder.deconv3"]
        dcn_key = f"{prefix}.deformable_convolution"
        aligned = w[dcn_key]
        self.deformable_convolution = SlimDeformConv2d(
            w, ref, aligned, offset_feat, 3, GROUPS, row=dcn_key, offset_row=f"{dcn_key}.conv_offset")
        w.row(f"{dcn_key}.conv_offset", offset_feat, w[f"{dcn_key}.conv_offset"])
        w.row(dcn_key, ref, aligned)
        k1, k2 = f"{prefix}.refine_conv1", f"{prefix}.refine_conv2"
        self.refine_conv1 = conv(w, k1, [aligned, ref], 3)
        self.refine_conv2 = conv(w, k2, w[k1], 3)

    def motion_estimation(self, ref_feature: torch.Tensor, input_feature: torch.Tensor) -> torch.Tensor:
        """The offset latent (unquantised) from full-width reference and input features."""
        x = torch.cat([to_full(ref_feature), to_full(input_feature)], 1)
        x = F.leaky_relu(self.offset_conv1(x), 0.1)
        x = F.leaky_relu(self.offset_conv3(x), 0.1)
        return self.offset_encoder(x)

    def forward(self, ref_feature: torch.Tensor, q_offset: torch.Tensor) -> torch.Tensor:
        offset_feat = self.offset_decoder(q_offset)
        aligned = self.deformable_convolution(ref_feature, offset_feat)
        refine = F.leaky_relu(self.refine_conv1(torch.cat([aligned, ref_feature], 1)), 0.1)
        refine = F.leaky_relu(self.refine_conv2(refine), 0.1)
        return aligned + refine


class FeatureDecoder(nn.Module):
    """``FeatureDecoder``: ``Resblocks(64)``, then ConvTranspose2d(64, 3, 5, s2, p2, op1)."""

    def __init__(self, w: Widths, trunk: Width, prefix: str = "Decoder"):
        super().__init__()
        self.recon_trunk = Resblocks.slim(w, trunk, w[f"{prefix}.recon_trunk"],
                                          row=f"{prefix}.recon_trunk")
        self.deconv1 = deconv(w, f"{prefix}.deconv1", trunk, 5, 2, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.deconv1(self.recon_trunk(x))


class PriorDecoder(nn.Module):
    """``OffsetPriorDecodeNet`` / ``ResPriorDecodeNet``: ConvT 5x5 s2 + LeakyReLU(0.2), ConvT 5x5 s2 +
    LeakyReLU(0.2), ConvT 3x3 s1 (128 -> 128 -> 192 -> 256)."""

    def __init__(self, w: Widths, prefix: str):
        super().__init__()
        width_in = w.fixed(MV)
        for i, (k, s) in enumerate([(5, 2), (5, 2), (3, 1)], 1):
            key = f"{prefix}.deconv{i}"
            setattr(self, f"deconv{i}", deconv(w, key, width_in, k, s))
            width_in = w[key]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.deconv1(z), 0.2)
        x = F.leaky_relu(self.deconv2(x), 0.2)
        return self.deconv3(x)


class ParameterNet(nn.Module):
    """``Parameter_net``: 1x1 convs 256 -> 512 (LReLU 0.1) -> 512 (LReLU 0.1), ``Resblocks(512, 1)``,
    1x1 conv -> 256 (mean and sqrt-scale of the 128-channel latent)."""

    def __init__(self, w: Widths, prefix: str):
        super().__init__()
        k1, k2, k3 = f"{prefix}.conv1", f"{prefix}.conv2", f"{prefix}.conv3"
        self.conv1 = conv(w, k1, w.fixed(MV * 2), 1)
        self.conv2 = conv(w, k2, w[k1], 1)
        self.res0 = Resblocks.slim(w, w[k2], w[f"{prefix}.res0"], 1, row=f"{prefix}.res0")
        self.conv3 = conv(w, k3, w[k2], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.conv1(x), 0.1)
        x = F.leaky_relu(self.conv2(x), 0.1)
        return self.conv3(self.res0(x))


class EntropyParameters(nn.Module):
    """``NIPS18nocEntropyCoder``: the decoder-side network (key ``<coder>.parameters_net``) and the
    Gaussian conditional that rates and codes the latent (``conditional``: no state-dict keys)."""

    def __init__(self, w: Widths, prefix: str):
        super().__init__()
        self.parameters_net = ParameterNet(w, f"{prefix}.parameters_net")
        self.conditional = MeanGaussianConditional()

    def forward(self, hyper: torch.Tensor, channels: int) -> tuple[torch.Tensor, torch.Tensor]:
        musigma = self.parameters_net(hyper)
        mu, sigma = musigma[:, :channels], musigma[:, channels:]
        return mu, sigma.pow(2).clamp(1e-5, 1e10)


class FVC(Codec):
    """FVC's decoder side at any width layout."""

    LAYERS = (_FE_LAYERS + _latent_decoder_layers("aligner.offset_decoder") + _MC_LAYERS
              + _latent_decoder_layers("resDecoder") + _RECON_LAYERS
              + _prior_layers("OffsetPriorDecoder") + _prior_layers("resPriorDecoder")
              + _param_layers("EntropyCoding_offsetf.parameters_net")
              + _param_layers("EntropyCoding_residualf.parameters_net"))
    TIES = (
        (("aligner.deformable_convolution", "aligner.refine_conv2", "resDecoder.deconv3"),
         "aligned = DCN output + refine_conv2 output; recon_feature = aligned + resDecoder output "
         "(both additions, and the sum feeds Decoder.recon_trunk)"),
    )
    MULTIPLE = 64
    PROVENANCE = Provenance(
        paper='Hu et al., "FVC: A New Framework towards Deep Video Compression in Feature Space", CVPR 2021',
        code="https://github.com/ZhihaoHu/PyTorchVideoCompression (FVC/)",
        commit="d732ce5",
    )
    # Training presets. PAPER: the public FVC/main.py and dataset.py (ZhihaoHu/PyTorchVideoCompression
    # @ d732ce5): Adam lr 1e-4, gpu_per_batch 4, 256x256 Vimeo-90k crops, tot_step 2,000,000 (single
    # frame; its example config then adds 300k multi-frame steps), train_lambda 2048 (MSE; the paper's
    # lambdas are 256, 512, 1024, 2048).
    QUICK = {"crop": 64, "batch": 4, "lr": 2e-4, "steps": 1000, "time_limit": 270.0}
    PAPER = {"crop": 256, "batch": 4, "lr": 1e-4, "steps": 2_000_000, "lambda": 2048}

    @torch.no_grad()
    def start_as_copy(self) -> None:
        """Initial values that make the P-frame path "copy the reference" before any training, as a
        pretrained codec nearly does on static content: the feature encoder starts as a
        space-to-depth (each 2x2 block of the 3 colours in channels 0..11), every residual block of the
        feature and reconstruction trunks as the identity (its second conv zero, the "zero-init
        residual" of Goyal et al. 2017; each ``Resblocks`` doubles through its outer skip), the
        deformable convolution as the identity (its offsets are zero already), the refinement and
        the residual decoder's last layer at zero, and the frame decoder's transposed conv as the
        inverse depth-to-space (scaled by 1/4 for the two doublings). Then ``x_hat = ref`` exactly,
        the offset and residual latents are free to learn what to add, and the other 52 feature
        channels keep their random start. Only initial values move: every key and shape is the
        public one."""
        encoder, decoder = self.Encoder.conv1, self.Decoder.deconv1
        encoder.weight.zero_()
        encoder.bias.zero_()
        decoder.weight.zero_()
        decoder.bias.zero_()
        for c in range(3):
            for dy in range(2):
                for dx in range(2):
                    channel = 4 * c + 2 * dy + dx  # pixel (2i+dy, 2j+dx) of colour c
                    encoder.weight[channel, c, 2 + dy, 2 + dx] = 1.0
                    decoder.weight[channel, c, 2 + dy, 2 + dx] = 0.25
        for trunk in (self.Encoder.feature_extraction, self.Decoder.recon_trunk):
            for block in (trunk.res1, trunk.res2, trunk.res3):
                block.conv2.weight.zero_()
                block.conv2.bias.zero_()
        dcn = self.aligner.deformable_convolution
        dcn.weight.zero_()
        dcn.weight[:, :, 1, 1] = torch.eye(dcn.weight.shape[0], dcn.weight.shape[1])
        for layer in (self.aligner.refine_conv2, self.resDecoder.deconv3):
            layer.weight.zero_()
            layer.bias.zero_()

    def __init__(self, layout=None):
        super().__init__(layout)
        w = self.widths
        self.Encoder = FeatureEncoder(w)
        self.aligner = PCDAlign(w, w["Encoder.conv1"])
        self.resDecoder = LatentDecoder(w, "resDecoder", RES)
        self.Decoder = FeatureDecoder(w, w["aligner.deformable_convolution"])
        self.OffsetPriorDecoder = PriorDecoder(w, "OffsetPriorDecoder")
        self.resPriorDecoder = PriorDecoder(w, "resPriorDecoder")
        self.EntropyCoding_offsetf = EntropyParameters(w, "EntropyCoding_offsetf")
        self.EntropyCoding_residualf = EntropyParameters(w, "EntropyCoding_residualf")
        # encoder side (full width, not searched) and the factorized hyper-latent models
        self.OffsetPriorEncoder = PriorEncoder(MV)
        self.EntropyCoding_offsetz = BitEstimator(MV)
        self.resEncoder = LatentEncoder(NF, RES)
        self.resPriorEncoder = PriorEncoder(RES)
        self.EntropyCoding_residualz = BitEstimator(RES)

    def decoder_inputs(self, height, width, batch=1, generator=None):
        def rand(c, s):
            return torch.randn(batch, c, height // s, width // s, generator=generator).round()
        return {"ref": torch.rand(batch, 3, height, width, generator=generator),
                "q_offset": rand(MV, 16), "q_res": rand(RES, 16),
                "q_offset_z": rand(MV, 64), "q_res_z": rand(RES, 64)}

    # -- decoder-side steps, shared by decode (profiling), forward and decompress -----------------

    def _motion_params(self, q_offset_z):
        return self.EntropyCoding_offsetf(self.OffsetPriorDecoder(q_offset_z), MV)

    def _residual_params(self, q_res_z):
        return self.EntropyCoding_residualf(self.resPriorDecoder(q_res_z), RES)

    def _reconstruct(self, aligned, q_res):
        recon_feature = aligned + self.resDecoder(q_res)
        return recon_feature, self.Decoder(recon_feature)

    def decode(self, ref, q_offset, q_res, q_offset_z, q_res_z):
        ref_feature = self.Encoder(ref)
        aligned = self.aligner(ref_feature, q_offset)
        recon_feature, x_hat = self._reconstruct(aligned, q_res)
        offset_mu, offset_sigma = self._motion_params(q_offset_z)
        res_mu, res_sigma = self._residual_params(q_res_z)
        return {"x_hat": x_hat, "aligned_feature": aligned, "recon_feature": recon_feature,
                "offset_mu": offset_mu, "offset_sigma": offset_sigma,
                "res_mu": res_mu, "res_sigma": res_sigma}

    def export_parts(self, height, width, batch=1, generator=None):
        """Motion (feature extraction, offset decoder, deformable alignment), frame decoder (residual
        decoder, frame reconstruction), entropy parameters (hyper decoders and parameter nets)."""
        inputs = self.decoder_inputs(height, width, batch, generator)
        with torch.no_grad():
            aligned = self.aligner(self.Encoder(inputs["ref"]), inputs["q_offset"])
        cls = type(self)

        def motion(p, ref, q_offset):
            return p.aligner(p.Encoder(ref), q_offset)

        def params(p, q_offset_z, q_res_z):
            return (*cls._motion_params(p, q_offset_z), *cls._residual_params(p, q_res_z))
        pick = {k: inputs[k] for k in ("q_offset_z", "q_res_z")}
        return [
            make_part(self, "motion", motion, ["Encoder", "aligner"],
                      {"ref": inputs["ref"], "q_offset": inputs["q_offset"]}, ["aligned_feature"],
                      "reference feature aligned by the decoded offsets (deformable convolution)"),
            make_part(self, "frame_decoder", cls._reconstruct, ["resDecoder", "Decoder"],
                      {"aligned_feature": aligned, "q_res": inputs["q_res"]},
                      ["recon_feature", "x_hat"], "residual decoder and frame reconstruction"),
            make_part(self, "entropy_parameters", params,
                      ["OffsetPriorDecoder", "resPriorDecoder", "EntropyCoding_offsetf",
                       "EntropyCoding_residualf"], pick,
                      ["offset_mu", "offset_sigma", "res_mu", "res_sigma"],
                      "hyper decoders and parameter nets: Gaussian means and scales of both latents"),
        ]

    # -- the whole codec ----------------------------------------------------------------------------

    def _code(self, ref, x, training):
        """Encoder and decoder in one pass (``VideoCompressor.forward``): quantised latents, their
        Gaussian parameters, likelihoods and the reconstruction."""
        ref_feature, input_feature = self.Encoder(ref), self.Encoder(x)
        # motion: offsets in feature space (AlignMultiFeature)
        en_offset = self.aligner.motion_estimation(ref_feature, input_feature)
        q_offset_z, l_offset_z = self.EntropyCoding_offsetz(self.OffsetPriorEncoder(en_offset),
                                                            training=training)
        offset_mu, offset_sigma = self._motion_params(q_offset_z)
        q_offset, l_offset = self.EntropyCoding_offsetf.conditional(en_offset, offset_sigma,
                                                                    offset_mu, training=training)
        aligned = self.aligner(ref_feature, q_offset)
        # residual in feature space (AddResidual)
        y_res = self.resEncoder(to_full(input_feature) - to_full(aligned))
        q_res_z, l_res_z = self.EntropyCoding_residualz(self.resPriorEncoder(y_res), training=training)
        res_mu, res_sigma = self._residual_params(q_res_z)
        q_res, l_res = self.EntropyCoding_residualf.conditional(y_res, res_sigma, res_mu,
                                                                training=training)
        _, x_hat = self._reconstruct(aligned, q_res)
        return {"x_hat": x_hat, "aligned": aligned,
                "q": {"motion": {"y": q_offset, "z": q_offset_z}, "residual": {"y": q_res, "z": q_res_z}},
                "params": {"motion": (offset_sigma, offset_mu), "residual": (res_sigma, res_mu)},
                "likelihoods": {"motion": {"y": l_offset, "z": l_offset_z},
                                "residual": {"y": l_res, "z": l_res_z}}}

    def forward(self, ref, x, aux: bool = False):
        """See :meth:`search.codec.Codec.forward`. Likelihoods: ``motion`` ``y`` (offset latent,
        Gaussian) and ``z`` (its hyper-latent, factorized); ``residual`` likewise. With ``aux``, also
        ``x_align = Decoder(aligned feature)`` (the public code's ``align_image``, for its stage-1
        ``align_loss``)."""
        out = self._code(ref, x, self.training)
        result = {"x_hat": out["x_hat"], "likelihoods": out["likelihoods"]}
        if aux:
            result["x_align"] = self.Decoder(out["aligned"])
        return result

    def _conditionals(self):
        return {"motion": (self.EntropyCoding_offsetz, self.EntropyCoding_offsetf.conditional),
                "residual": (self.EntropyCoding_residualz, self.EntropyCoding_residualf.conditional)}

    @torch.no_grad()
    def compress(self, ref, x):
        """Rounded latents coded with CompressAI's rANS coder. Builds the coder tables if missing
        (after changing weights, call ``search.entropy.update_all(model, force=True)``)."""
        update_all(self)
        out = self._code(ref, x, training=False)
        strings, shapes = {}, {}
        for group, (factorized, gaussian) in self._conditionals().items():
            q = out["q"][group]
            sigma, mu = out["params"][group]
            strings[group] = {"y": gaussian.compress(q["y"], sigma, mu),
                              "z": factorized.compress(q["z"])}
            shapes[group] = tuple(q["z"].shape)
        return {"strings": strings, "shapes": shapes}

    @torch.no_grad()
    def decompress(self, ref, compressed):
        update_all(self)
        q = {}
        for group, (factorized, gaussian) in self._conditionals().items():
            strings = compressed["strings"][group]
            q_z = factorized.decompress(strings["z"], compressed["shapes"][group]).to(ref.device)
            mu, sigma = (self._motion_params if group == "motion" else self._residual_params)(q_z)
            q[group] = gaussian.decompress(strings["y"], sigma, mu).to(ref.device)
        aligned = self.aligner(self.Encoder(ref), q["motion"])
        _, x_hat = self._reconstruct(aligned, q["residual"])
        return {"x_hat": x_hat}


CODEC = FVC
