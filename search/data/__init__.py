"""Real video for training and evaluation: clips from files and folders, training crops, and test
sequences as the field stores them (raw YUV, PNG folders, containers)."""
from .clips import Clips, as_clips
from .frames import crop_back, frames_to_tensor, pad_to_multiple
from .samples import TrainPairs, make_loader
from .testset import Frame, TestSequence, YuvOptions, open_test_set
from .video import VIDEO_EXTENSIONS, default_clips, read_video
from .vimeo import find_sequences, read_sequence

__all__ = ["Clips", "as_clips", "crop_back", "frames_to_tensor", "pad_to_multiple", "TrainPairs",
           "make_loader", "Frame", "TestSequence", "YuvOptions", "open_test_set", "VIDEO_EXTENSIONS",
           "default_clips", "read_video", "find_sequences", "read_sequence"]
