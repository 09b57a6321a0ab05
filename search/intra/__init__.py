"""The I-frame codec: a classical one (HEVC intra through x265, as BPG; AVIF through Pillow), or a
learned image codec of CompressAI's zoo (cheng2020-anchor by default), its weights, and the small
codec the quick preset can train."""
from .classical import (AVIF_QUALITY_OF_LAMBDA, CLASSICAL, QP_OF_LAMBDA, ClassicalIntra,
                        classical_intra)
from .models import (ARCHITECTURES, MULTIPLE, QUALITY_OF_LAMBDA, IntraCodec, load_intra, pretrained,
                     quality_for, save_intra, stream_bits)
from .train import QuickIntra, quick_intra, train_quick_intra

__all__ = ["AVIF_QUALITY_OF_LAMBDA", "CLASSICAL", "QP_OF_LAMBDA", "ClassicalIntra", "classical_intra",
           "ARCHITECTURES", "MULTIPLE", "QUALITY_OF_LAMBDA", "IntraCodec", "load_intra", "pretrained",
           "quality_for", "save_intra", "stream_bits", "QuickIntra", "quick_intra", "train_quick_intra"]
