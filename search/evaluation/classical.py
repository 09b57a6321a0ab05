"""Classical codecs as anchors: JPEG, WebP and AVIF (Pillow) on images; x264, x265 and SVT-AV1 (PyAV)
on video, coded and measured the way :mod:`search.evaluation.coding` measures a learned codec.

Images go through Pillow as 8-bit RGB (each codec converts to its own YCbCr 4:2:0 inside, as
CompressAI's ``compressai.utils.bench`` wrappers do); the decoded file is what is measured. Video goes
through the encoders as the field runs them for learned-video papers' anchors (DVC, DCVC and their
successors): low delay, IPPP (no B-frames), one I-frame per intra period (``keyint`` = GOP, no scene-cut
I-frames), a CRF sweep, in 8-bit YUV 4:2:0 as the encoder sees it: a YUV source's own planes, or an RGB
source converted with the test set's matrix (``yuv_to_rgb=``). PSNR and MS-SSIM are measured in RGB
(the decoded planes converted back with the same matrix), YUV PSNR (``yuv_psnr=true``) on the decoded
planes against the planes the encoder was given. Bits are the real bitstream's: every byte of every
packet (parameter sets included, in the first I-frame) over the original frame size.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Sequence

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from ..data import crop_back, pad_to_multiple
from ..data.color import rgb_to_yuv420, yuv420_to_rgb
from ..data.testset import Frame, TestSequence
from ..errors import BadInput
from ..intra.classical import pillow_code, yuv420_picture, yuv420_planes
from .measure import quality
from .images import image_indices, images_of
from .metrics import msssim, plane_psnr, psnr
from .protocol import Protocol


@dataclass(frozen=True)
class ClassicalCodec:
    """A classical codec: what it codes, its quality parameter and sweep, and how it is run."""

    name: str
    kind: str  # "image" (Pillow) or "video" (PyAV)
    library: str  # Pillow format or PyAV encoder
    parameter: str  # what ``quality`` means for it
    sweep: tuple[int, ...]
    higher_is_better: bool  # whether a higher ``quality`` gives more bits
    options: dict = field(default_factory=dict)
    decoder: str = ""
    speed: str = ""

    def settings(self, speed: str = "") -> str:
        """One line saying how the codec runs (the ``settings`` column of the tables)."""
        opts = [f"{k}={v}" for k, v in self.options.items()]
        preset = speed or self.speed
        return "; ".join([f"{self.library} {self.parameter} sweep"] + ([f"preset {preset}"] if preset else [])
                         + opts)


#: the anchors. Image sweeps cover about 0.1..2 bpp on photographs; the video presets are the ones
#: the DCVC line's anchors use for x264/x265 (``veryslow``, ``zerolatency``), and SVT-AV1's low-delay
#: prediction structure at a mid preset (its slowest presets take minutes per frame on 2 cores).
CODECS: dict[str, ClassicalCodec] = {c.name: c for c in (
    ClassicalCodec("jpeg", "image", "JPEG", "quality", (5, 10, 20, 30, 40, 50, 60, 75, 85, 95), True,
                   {"subsampling": "4:2:0"}),
    ClassicalCodec("webp", "image", "WEBP", "quality", (5, 10, 20, 30, 40, 50, 60, 75, 85, 95), True,
                   {"method": 6}),
    ClassicalCodec("avif", "image", "AVIF", "quality", (10, 20, 30, 40, 50, 60, 70, 80, 90), True,
                   {"subsampling": "4:2:0"}, speed="4"),
    ClassicalCodec("x264", "video", "libx264", "crf", (22, 27, 32, 37, 42), False,
                   {"tune": "zerolatency", "bframes": 0, "scenecut": 0}, "h264", "veryslow"),
    ClassicalCodec("x265", "video", "libx265", "crf", (22, 27, 32, 37, 42), False,
                   {"tune": "zerolatency", "bframes": 0, "scenecut": 0}, "hevc", "veryslow"),
    ClassicalCodec("svtav1", "video", "libsvtav1", "crf", (27, 35, 43, 51, 59), False,
                   {"pred-struct": "1 (low delay)"}, "libdav1d", "8"),
)}


def classical_codec(name: str) -> ClassicalCodec:
    """The anchor called ``name`` (one clear line when there is none)."""
    if name not in CODECS:
        raise BadInput(f"codec={name!r}: expected one of {', '.join(CODECS)}")
    return CODECS[name]


def check_available(codec: ClassicalCodec) -> None:
    """Refuse a codec this machine's Pillow or PyAV cannot run, before any work."""
    if codec.kind == "image":
        from PIL import features

        if not features.check({"JPEG": "jpg"}.get(codec.library, codec.library.lower())):
            raise BadInput(f"codec={codec.name}: this Pillow has no {codec.library} support")
        return
    import av

    for name, mode in ((codec.library, "w"), (codec.decoder, "r")):
        try:
            av.codec.Codec(name, mode)
        except Exception:  # PyAV raises its own UnknownCodecError
            raise BadInput(f"codec={codec.name}: this PyAV has no {name} "
                           f"{'encoder' if mode == 'w' else 'decoder'}") from None


def check_sources(codec: ClassicalCodec, sequences: Sequence[TestSequence]) -> None:
    """The video anchors code 8-bit 4:2:0: refuse a deeper source before any coding."""
    deep = [s for s in sequences if codec.kind == "video" and s.bitdepth != 8]
    if deep:
        raise BadInput(f"{deep[0].path}: {deep[0].bitdepth}-bit; the video anchors code 8-bit sources")


def check_qualities(codec: ClassicalCodec, values: Sequence[float]) -> tuple[int, ...]:
    """The sweep to run: ``values`` (integers in the codec's range) or the codec's own sweep."""
    if not values:
        return codec.sweep
    low, high = (0, 100) if codec.kind == "image" else (0, 63 if codec.name == "svtav1" else 51)
    out = []
    for v in values:
        if float(v) != int(v) or not low <= int(v) <= high:
            raise BadInput(f"quality={list(values)}: {codec.name}'s {codec.parameter} takes integers "
                           f"{low}..{high}")
        out.append(int(v))
    return tuple(dict.fromkeys(out))


# -- images (Pillow) --------------------------------------------------------------------------------

def code_image_pillow(codec: ClassicalCodec, rgb: torch.Tensor, value: int, speed: str = ""
                      ) -> tuple[torch.Tensor, int]:
    """(decoded image ``[1, 3, H, W]``, bits of the file) of one image at quality ``value``."""
    options = dict(codec.options)
    if codec.name == "avif":
        options["speed"] = int(speed or codec.speed)
    return pillow_code(rgb, codec.library, value, **options)


def image_rows(codec: ClassicalCodec, sequence: TestSequence, protocol: Protocol, value: int,
               speed: str = "") -> list[dict]:
    """One row per image of ``sequence`` (the images an image codec of ours would code)."""
    rows = []
    for index, frame in images_of(sequence, image_indices(sequence, protocol)):
        x_hat, bits = code_image_pillow(codec, frame.rgb, value, speed)
        pixels = frame.rgb.shape[-2] * frame.rgb.shape[-1]
        rows.append({"sequence": sequence.name, "class": sequence.group, "frame": index, "type": "image",
                     **quality(x_hat, frame, protocol, sequence.bitdepth), "bpp": bits / pixels})
    return rows


# -- video (PyAV) -----------------------------------------------------------------------------------

def even_planes(frame: Frame, protocol: Protocol, bitdepth: int) -> list[np.ndarray]:
    """The 8-bit Y, U, V planes the encoder is given (a YUV source's own; else the RGB converted with
    the test set's matrix), padded by edge replication to even sizes as 4:2:0 needs."""
    rgb, _ = pad_to_multiple(frame.rgb, 2)
    planes = frame.yuv if frame.yuv is not None else rgb_to_yuv420(rgb, protocol.yuv.matrix, bitdepth)
    return [(p[0, 0].clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy() for p in planes]


def encoder_options(codec: ClassicalCodec, value: int, gop: int, speed: str) -> dict[str, str]:
    """PyAV/ffmpeg options of one encoder run: low delay, IPPP, an I-frame every ``gop`` frames."""
    preset = speed or codec.speed
    if codec.name == "x264":
        return {"preset": preset, "tune": "zerolatency", "crf": str(value),
                "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0"}
    if codec.name == "x265":
        return {"preset": preset, "tune": "zerolatency",
                "x265-params": f"crf={value}:keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0:"
                               f"open-gop=0:log-level=error"}
    return {"preset": preset, "crf": str(value), "svtav1-params": f"pred-struct=1:keyint={gop}"}


def code_video(codec: ClassicalCodec, planes: list[list[np.ndarray]], value: int, gop: int,
               speed: str = "") -> tuple[list[list[np.ndarray]], list[int], list[bool]]:
    """(decoded planes, bits, is-I-frame) per frame of one sequence through the encoder and back."""
    import av

    height, width = planes[0][0].shape
    encoder = av.CodecContext.create(codec.library, "w")
    encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
    encoder.time_base, encoder.framerate = Fraction(1, 25), 25
    encoder.gop_size, encoder.max_b_frames = gop, 0
    encoder.thread_count = 1  # 8-bit anchors on small test sets: one thread keeps runs comparable
    encoder.options = encoder_options(codec, value, gop, speed)
    packets = []
    for index, (y, u, v) in enumerate(planes):
        picture = yuv420_picture(y, u, v)
        picture.pts = index
        packets.extend(encoder.encode(picture))
    packets.extend(encoder.encode(None))
    packets.sort(key=lambda p: p.pts)
    decoder = av.CodecContext.create(codec.decoder, "r")
    decoded = [f for p in packets for f in decoder.decode(p)] + list(decoder.decode(None))
    if len(decoded) != len(planes) or len(packets) != len(planes):
        raise RuntimeError(f"{codec.name}: {len(planes)} frames in, {len(packets)} packets, "
                           f"{len(decoded)} frames out")
    return ([yuv420_planes(f, width, height) for f in decoded], [8 * p.size for p in packets],
            [bool(p.is_keyframe) for p in packets])


def _tensor(plane: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(plane.astype(np.float32) / 255)[None, None].to(device)


def video_rows(codec: ClassicalCodec, sequence: TestSequence, protocol: Protocol, value: int,
               speed: str = "") -> list[dict]:
    """One row per coded frame of ``sequence``: IPPP with an I-frame per intra period."""
    gop, count = protocol.period(sequence), protocol.frames(sequence)
    frames = list(sequence.frames(0, count))
    sources = [even_planes(f, protocol, sequence.bitdepth) for f in frames]
    decoded, bits, keys = code_video(codec, sources, value, gop, speed)
    rows = []
    for index, (frame, source, planes) in enumerate(zip(frames, sources, decoded)):
        device = frame.rgb.device
        size = tuple(frame.rgb.shape[-2:])
        tensors = [_tensor(p, device) for p in planes]
        rgb = crop_back(yuv420_to_rgb(*tensors, protocol.yuv.matrix, 8), size)
        figures = {"psnr": psnr(rgb, frame.rgb), "ms_ssim": msssim(rgb, frame.rgb)}
        if protocol.yuv_psnr:
            for name, a, b in zip("yuv", tensors, source):
                figures[f"psnr_{name}"] = plane_psnr(a, _tensor(b, device))
            figures["psnr_yuv"] = (6 * figures["psnr_y"] + figures["psnr_u"] + figures["psnr_v"]) / 8
        bpp = bits[index] / (size[0] * size[1])
        rows.append({"sequence": sequence.name, "class": sequence.group, "frame": index,
                     "type": "I" if keys[index] else "P", **figures,
                     "bpp_i": bpp if keys[index] else 0.0, "bpp": bpp})
    return rows


def evaluate_classical(codec: ClassicalCodec, sequences: Sequence[TestSequence], protocol: Protocol,
                       values: Sequence[int], speed: str = "", progress: bool = True) -> pd.DataFrame:
    """Per-frame (video) or per-image figures of ``codec`` at every ``quality`` of the sweep, with the
    columns of :func:`search.evaluation.evaluate` and ``quality`` as the RD point."""
    coder = image_rows if codec.kind == "image" else video_rows
    tables = []
    for value in tqdm(values, desc=f"{codec.name} {codec.parameter}", disable=not progress,
                      dynamic_ncols=True):
        rows = [row for s in sequences for row in coder(codec, s, protocol, value, speed)]
        table = pd.DataFrame(rows)
        table.insert(0, "quality", value)
        tables.append(table)
    out = pd.concat(tables, ignore_index=True)
    out["codec"] = codec.name
    out["settings"] = codec.settings(speed)
    return out

