"""cgSlimDecoder width search for learned video codec decoders (DVC, FVC, DCVC, SlimVC)."""
import warnings

# compressai scripts a helper with torch.jit.script, which torch 2.14 deprecates with a FutureWarning
# at import; it says nothing about this project's use and would be the first stderr line of every run.
warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*", category=FutureWarning)

__version__ = "0.1.0"
