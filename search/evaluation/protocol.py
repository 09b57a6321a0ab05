"""The test protocol: which frames of a sequence are coded, and how GOPs are cut.

Test conditions by name, each fixing the frames coded and the intra period (GOP size: the first frame
of a GOP is an I-frame, the others P-frames coded against the previous reconstruction):

* ``paper``: the DVC, FVC and DCVC papers: the first 100 frames; intra period 10 for HEVC classes
  B-E, 12 for UVG and MCL-JCV (and any other class).
* ``dcvc``: the later DCVC line (DCVC-HEM, DCVC-DC, DCVC-FM): the first 96 frames, intra period 32.

Without a condition, ``gop_size``, ``max_frames`` and ``max_gops`` say it.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..config import EvalConfig
from ..data.color import check_matrix
from ..data.testset import TestSequence, YuvOptions
from ..errors import BadInput

HEVC_CLASSES = ("HEVC-B", "HEVC-C", "HEVC-D", "HEVC-E")


@dataclass(frozen=True)
class Condition:
    name: str
    frames: int
    intra_period: int
    hevc_intra_period: int

    def period(self, group: str) -> int:
        return self.hevc_intra_period if group in HEVC_CLASSES else self.intra_period


CONDITIONS = {"paper": Condition("paper", 100, 12, 10), "dcvc": Condition("dcvc", 96, 32, 32)}


@dataclass(frozen=True)
class Protocol:
    """How every sequence of a test set is coded (built from the ``eval`` section)."""

    condition: Condition | None
    gop_size: int
    max_gops: int | None
    max_frames: int | None
    bitstream: bool
    yuv_psnr: bool
    yuv: YuvOptions

    @classmethod
    def of(cls, cfg: EvalConfig) -> "Protocol":
        condition = None
        if cfg.condition:
            if cfg.condition not in CONDITIONS:
                raise BadInput(f"condition={cfg.condition!r}: expected one of {', '.join(CONDITIONS)} "
                               f"(or empty: gop_size, max_frames, max_gops)")
            condition = CONDITIONS[cfg.condition]
        if cfg.gop_size < 1:
            raise BadInput(f"gop_size={cfg.gop_size}: expected at least 1 (an I-frame per GOP)")
        if cfg.max_gops is not None and cfg.max_gops < 0:
            raise BadInput(f"max_gops={cfg.max_gops}: expected 0 (no evaluation) or more")
        if cfg.max_frames is not None and cfg.max_frames < 1:
            raise BadInput(f"max_frames={cfg.max_frames}: expected at least 1")
        yuv = YuvOptions(check_matrix(cfg.yuv_to_rgb), cfg.size, cfg.fps, cfg.bitdepth)
        return cls(condition, cfg.gop_size, cfg.max_gops, cfg.max_frames, cfg.bitstream, cfg.yuv_psnr, yuv)

    def period(self, sequence: TestSequence) -> int:
        """The intra period of ``sequence``."""
        return self.condition.period(sequence.group) if self.condition else self.gop_size

    def frames(self, sequence: TestSequence) -> int:
        """How many of ``sequence``'s first frames are coded."""
        count = sequence.length
        if self.condition:
            return min(count, self.condition.frames)
        if self.max_frames is not None:
            count = min(count, self.max_frames)
        if self.max_gops is not None:
            count = min(count, self.max_gops * self.gop_size)
        return count

    @property
    def label(self) -> str:
        if self.condition:
            return f"condition {self.condition.name}"
        return f"intra period {self.gop_size}" + (f", {self.max_gops} GOP(s)" if self.max_gops else "")
