"""A steady allocator for timing: freed memory kept, so a decode does not pay page faults that depend
on the process's history.

A decoder allocates its activations afresh on every call (PyTorch's CPU allocator is glibc's
``malloc``). glibc serves a large block either from its heap, where memory freed by the last decode is
reused, or from a fresh ``mmap``, whose every page faults on first touch; which one it picks moves
with a threshold that grows as the process frees large blocks, so it depends on everything the
process did before. Measured on this project's 2-core CPU, FVC's chosen decoder at 700 ms (its
deformable convolution's offset convolution writes a 4 MB tensor per decode): that one convolution
took 15 ms in one process and 35-37 ms in two others, the whole decode 729-754 ms; with the
thresholds fixed as below, 15 ms in all three and 683-712 ms. Fixing them (glibc's ``mallopt``: the
``mmap`` threshold at its 32 MiB maximum, freed memory kept up to 1 GiB, the heap grown 256 MiB at a
time) is what a decoder serving many frames sees: its buffers reused. It is process-wide and not
undone (the rest of a job only keeps more memory); where the C library is not glibc nothing is done.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import platform

#: glibc's mallopt parameters (malloc.h)
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
SETTINGS = {M_MMAP_THRESHOLD: 32 * 2**20, M_TRIM_THRESHOLD: 2**30, M_TOP_PAD: 256 * 2**20}


@functools.lru_cache(maxsize=1)
def steady_allocator() -> bool:
    """Set glibc's thresholds once per process (see the module doc); False where this is not glibc."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    return all(libc.mallopt(ctypes.c_int(key), ctypes.c_int(value)) == 1 for key, value in SETTINGS.items())
