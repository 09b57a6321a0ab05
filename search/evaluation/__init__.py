"""Evaluation: rate-distortion of a codec on test sequences (coded I-frames, P-frames), the quality
metrics, the test protocol and the field's averages."""
from .bd import QUALITY, bd_pair, bd_table
from .coding import code_i_frame, code_p_frame, evaluate_sequence, evaluate_video, stream_bits
from .dispatch import evaluate
from .images import code_image, evaluate_images, image_indices
from .measure import DecodeMismatch, check_decoded, quality
from .metrics import msssim, plane_psnr, psnr
from .protocol import CONDITIONS, Condition, Protocol
from .summary import mean_figures, overall, per_class, per_sequence, point_column

__all__ = ["QUALITY", "bd_pair", "bd_table", "code_i_frame", "code_p_frame", "evaluate", "evaluate_sequence",
           "evaluate_video", "stream_bits", "code_image", "evaluate_images", "image_indices",
           "DecodeMismatch", "check_decoded", "quality", "msssim", "plane_psnr", "psnr", "CONDITIONS",
           "Condition", "Protocol", "mean_figures", "overall", "per_class", "per_sequence", "point_column"]
