"""cgSlimDecoder width search for learned codec decoders (the codec files of ``codecs/``, listed by
``python -m search.train --help``).

Subpackages, in the order data flows through them: ``config`` (the configuration tree), ``nn``
(slimmable layers), ``entropy`` (entropy models), ``codec`` (the codec base and loading codecs by
name), ``space`` (search spaces and layout files), ``complexity`` (fvcore profiles and the closed
form), ``data`` (video), ``training`` (stage 1), ``evaluation`` (rate-distortion on video),
``stage2`` (stage 2: its selectors), ``outer`` (the outer search and export), ``reports`` (tables and
plots), ``pipeline`` (the jobs the commands run) and ``commands`` (``python -m search.<command>``).
"""
import warnings

# compressai scripts a helper with torch.jit.script, which torch 2.14 deprecates with a FutureWarning
# at import; it says nothing about this project's use and would be the first stderr line of every run.
warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*", category=FutureWarning)

__version__ = "0.1.0"
