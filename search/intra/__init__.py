"""The I-frame codec: a learned image codec of CompressAI's zoo (cheng2020-anchor by default), its
weights, and the small codec the quick preset trains."""
from .models import (ARCHITECTURES, MULTIPLE, QUALITY_OF_LAMBDA, IntraCodec, load_intra, pretrained,
                     quality_for, save_intra)
from .train import QuickIntra, quick_intra, train_quick_intra

__all__ = ["ARCHITECTURES", "MULTIPLE", "QUALITY_OF_LAMBDA", "IntraCodec", "load_intra", "pretrained",
           "quality_for", "save_intra", "QuickIntra", "quick_intra", "train_quick_intra"]
