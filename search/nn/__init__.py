"""Building blocks of slimmable decoders: width expressions, channel masks, slimmable layers, residual
blocks and warping."""
