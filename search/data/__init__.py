"""Real video for training and evaluation: clips from files and folders, training crops, evaluation GOPs."""
from .clips import Clips, as_clips
from .frames import crop_back, frames_to_tensor, pad_to_multiple
from .gops import EvalGop, EvalSequences
from .samples import TrainPairs, make_loader
from .video import VIDEO_EXTENSIONS, default_clips, read_video
from .vimeo import find_sequences, read_sequence

__all__ = ["Clips", "as_clips", "crop_back", "frames_to_tensor", "pad_to_multiple", "EvalGop",
           "EvalSequences", "TrainPairs", "make_loader", "VIDEO_EXTENSIONS", "default_clips", "read_video",
           "find_sequences", "read_sequence"]
