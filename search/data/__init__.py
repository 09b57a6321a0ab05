"""Real video for training and evaluation: clips from files and folders, the Vimeo-90k septuplet set
read per sample, training crops and the DataLoader of each step's batch, and test sequences as the field
stores them (raw YUV, PNG folders, containers)."""
from .clips import Clips, as_clips
from .frames import crop_back, frames_to_tensor, pad_to_multiple
from .loader import StepSampler, rank_indices, step_loader
from .samples import TrainPairs, make_loader
from .septuplets import Septuplets, is_septuplet_set, training_frames
from .testset import Frame, TestSequence, YuvOptions, open_test_set, overlap_with_training
from .video import VIDEO_EXTENSIONS, default_clips, read_video
from .vimeo import find_sequences, read_sequence

__all__ = ["Clips", "as_clips", "crop_back", "frames_to_tensor", "pad_to_multiple", "StepSampler",
           "rank_indices", "step_loader", "TrainPairs", "make_loader", "Septuplets", "is_septuplet_set",
           "training_frames", "Frame", "TestSequence", "YuvOptions", "open_test_set", "overlap_with_training", "VIDEO_EXTENSIONS",
           "default_clips", "read_video", "find_sequences", "read_sequence"]
