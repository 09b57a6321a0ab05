"""Classical I-frame coders: HEVC intra (x265 through PyAV, as BPG) and AVIF (Pillow).

DVC (Lu et al., CVPR 2019) codes each GOP's first frame with BPG, which is HEVC intra coding in a
small container. BPG itself is not packaged here, but x265 is (PyAV's wheels carry libx265), so
``intra=hevc`` codes the I-frame as a one-frame HEVC stream with x265 at a fixed QP, and decodes it
with FFmpeg's HEVC decoder. The QP comes from the P-frame lambda by DVC's mapping as the public
OpenDVC test script applies it (``bpgenc -q``): lambda 256 / 512 / 1024 / 2048 -> QP 37 / 32 / 27 / 22
(:data:`QP_OF_LAMBDA`; other lambdas take the nearest in log scale). OpenDVC calls ``bpgenc -f 444
-m 9``: chroma 4:4:4 at BPG's slowest level; we code YUV 4:2:0 (x265's main profile, the format of the
HEVC/UVG test sequences) with x265's ``veryslow`` preset.

Colour: the encoders see 8-bit YUV 4:2:0. For HEVC we make it ourselves from the RGB frame with the
project's colour code (:func:`search.data.color.rgb_to_yuv420`, the evaluation's ``yuv_to_rgb=``
matrix) and turn the decoded planes back into RGB with the same matrix, so the I-frame goes through
exactly the conversion the test sequence came through. For AVIF, Pillow's libavif converts the RGB
frame itself (its own BT.601 full-range matrix, 4:2:0 chroma as requested) and back.

Bits: the whole bitstream, headers included. HEVC: every packet x265 writes for the frame (VPS, SPS,
PPS and the slice; x265's SEI with its options is switched off, ``info=0``, as it is no part of the
picture). AVIF: the whole ``.avif`` file (its ISOBMFF container too), as the field counts BPG's
``.bpg`` file.

AVIF's quality per lambda (:data:`AVIF_QUALITY_OF_LAMBDA`) has no published mapping: it is chosen so
that AVIF's RGB PSNR on the first frames of the bundled clips (bikes, carphone) is near HEVC's at the
same lambda: HEVC QP 37 / 32 / 27 / 22 gave 35.6 / 38.2 / 40.8 / 43.2 dB at 0.25 / 0.40 / 0.65 / 1.00
bpp; AVIF quality 40 / 50 / 65 / 85 gave 36.7 / 38.5 / 40.4 / 42.9 dB at 0.30 / 0.42 / 0.64 / 1.13 bpp
(x265 veryslow, libavif speed 4), so 34 / 48 / 67 / 87.
"""
from __future__ import annotations

import fractions
import io
import math
from dataclasses import dataclass

import numpy as np
import torch

from ..data.color import rgb_to_yuv420, yuv420_to_rgb
from ..errors import BadInput

#: DVC's BPG (HEVC) QP of the I-frames for each P-frame lambda (OpenDVC's test script)
QP_OF_LAMBDA = {256.0: 37, 512.0: 32, 1024.0: 27, 2048.0: 22}
#: Pillow's AVIF quality (0-100) for each P-frame lambda, near HEVC's PSNR at that lambda
AVIF_QUALITY_OF_LAMBDA = {256.0: 34, 512.0: 48, 1024.0: 67, 2048.0: 87}
#: x265's preset (OpenDVC runs bpgenc at its slowest level)
X265_PRESET = "veryslow"
#: Pillow's AVIF encoder speed (0 slowest, 10 fastest; libavif's default is 6)
AVIF_SPEED = 4
CLASSICAL = ("hevc", "avif")


def nearest_in_log(table: dict[float, int], lmbda: float) -> int:
    """``table``'s value at the tabulated lambda nearest ``lmbda`` in log scale."""
    key = min(table, key=lambda known: abs(math.log2(known) - math.log2(float(lmbda))))
    return table[key]


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """Samples in [0, 1] to 8-bit, same shape, on the CPU."""
    return (x.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()


def pillow_code(x: torch.Tensor, image_format: str, quality: int, **options
                ) -> tuple[torch.Tensor, int]:
    """(decoded image ``[1, 3, H, W]`` on ``x``'s device, bits of the whole file) of the RGB image
    ``x`` [1, 3, H, W] saved by Pillow as ``image_format`` at ``quality``; the codec converts to its
    own YCbCr inside, as CompressAI's ``compressai.utils.bench`` wrappers let it."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(to_uint8(x[0]).transpose(1, 2, 0), "RGB").save(buffer, format=image_format,
                                                                   quality=quality, **options)
    data = buffer.getvalue()
    decoded = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float32) / 255
    return torch.from_numpy(decoded.copy()).permute(2, 0, 1)[None].to(x.device), 8 * len(data)


def yuv420_picture(y: np.ndarray, u: np.ndarray, v: np.ndarray):
    """A PyAV ``yuv420p`` frame of 8-bit planes (``u`` and ``v`` at half size)."""
    import av

    return av.VideoFrame.from_ndarray(np.concatenate([y, u.reshape(-1, y.shape[1]),
                                                      v.reshape(-1, y.shape[1])]), format="yuv420p")


def yuv420_planes(picture, width: int, height: int) -> list[np.ndarray]:
    """The 8-bit Y, U, V planes of a decoded PyAV frame."""
    array = picture.to_ndarray(format="yuv420p")
    chroma = array[height:].reshape(2, height // 2, width // 2)
    return [array[:height], chroma[0], chroma[1]]


def check_quality(kind: str, quality: int) -> int:
    low, high = (0, 51) if kind == "hevc" else (0, 100)
    if not low <= int(quality) <= high:
        name = "a QP" if kind == "hevc" else "a quality"
        raise BadInput(f"intra_quality={quality}: intra={kind} takes {name} in {low}..{high}")
    return int(quality)


@dataclass
class ClassicalIntra:
    """A classical image codec of I-frames: ``kind`` (hevc or avif) at ``quality`` (HEVC's QP, or
    Pillow's AVIF quality); ``matrix``: the YUV conversion HEVC's input is made with."""

    kind: str
    quality: int
    matrix: str = "bt709"
    label: str = "classical"
    #: frame sizes the encoders take: even (YUV 4:2:0)
    multiple: int = 2

    def __post_init__(self):
        if self.kind not in CLASSICAL:
            raise BadInput(f"intra={self.kind!r}: expected one of {', '.join(CLASSICAL)}")
        self.quality = check_quality(self.kind, self.quality)

    @property
    def architecture(self) -> str:
        return f"hevc x265 QP {self.quality}" if self.kind == "hevc" else f"avif q{self.quality}"

    @property
    def source(self) -> str:
        return "x265 (PyAV)" if self.kind == "hevc" else "libavif (Pillow)"

    def to(self, device: torch.device | str) -> "ClassicalIntra":
        return self  # runs on the CPU; its reconstruction goes back to the frame's device

    @torch.no_grad()
    def code(self, x: torch.Tensor) -> tuple[torch.Tensor, int]:
        """(reconstruction, bits) of ``x`` [1, 3, H, W] (H, W even) through the real bitstream."""
        if x.shape[0] != 1 or x.shape[-2] % 2 or x.shape[-1] % 2:
            raise ValueError(f"classical I-frame coding takes one frame of even size, got {list(x.shape)}")
        coded, bits = hevc_code(x, self.quality, self.matrix) if self.kind == "hevc" else \
            avif_code(x, self.quality)
        return coded.to(x.device, x.dtype), bits


def hevc_code(x: torch.Tensor, qp: int, matrix: str) -> tuple[torch.Tensor, int]:
    """One RGB frame through x265 intra at ``qp`` (8-bit YUV 4:2:0 made with ``matrix``)."""
    import av

    planes = rgb_to_yuv420(x.detach().float().cpu(), matrix, 8)
    y, u, v = (to_uint8(p)[0, 0] for p in planes)
    height, width = y.shape
    encoder = av.CodecContext.create("libx265", "w")
    encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
    encoder.time_base = fractions.Fraction(1, 25)
    encoder.options = {"preset": X265_PRESET,
                       "x265-params": f"qp={qp}:keyint=1:info=0:log-level=none"}
    frame = yuv420_picture(y, u, v)
    frame.pts = 0
    stream = b"".join(bytes(p) for p in [*encoder.encode(frame), *encoder.encode(None)])
    decoder = av.CodecContext.create("hevc", "r")
    decoded = [*decoder.decode(av.Packet(stream)), *decoder.decode(None)]
    if len(decoded) != 1:
        raise RuntimeError(f"x265 stream of {len(stream)} bytes decoded to {len(decoded)} frames")
    y_hat, u_hat, v_hat = (torch.from_numpy(p.astype(np.float32) / 255)[None, None]
                           for p in yuv420_planes(decoded[0], width, height))
    return yuv420_to_rgb(y_hat, u_hat, v_hat, matrix, 8), 8 * len(stream)


def avif_code(x: torch.Tensor, quality: int) -> tuple[torch.Tensor, int]:
    """One RGB frame through Pillow's AVIF encoder (libavif, 4:2:0) at ``quality``."""
    return pillow_code(x, "AVIF", quality, subsampling="4:2:0", speed=AVIF_SPEED)


def classical_intra(kind: str, lmbda: float, quality: int | None = None,
                    matrix: str = "bt709") -> ClassicalIntra:
    """The classical coder ``kind`` for P-frames trained at ``lmbda``: DVC's QP for HEVC, the
    matched quality for AVIF, unless ``quality`` is given."""
    if kind not in CLASSICAL:
        raise BadInput(f"intra={kind!r}: expected one of {', '.join(CLASSICAL)}")
    table = QP_OF_LAMBDA if kind == "hevc" else AVIF_QUALITY_OF_LAMBDA
    return ClassicalIntra(kind, nearest_in_log(table, lmbda) if quality is None else quality, matrix)
