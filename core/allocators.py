"""How a `lakehouse` process's memory allocators keep freed memory: hot paths allocate and free large buffers again
and again, and memory handed back to the kernel at once is faulted in (and zeroed) again at the next one.

A user's own settings win (`_RJEM_MALLOC_CONF`; `GLIBC_TUNABLES` naming glibc.malloc). Elsewhere than glibc, glibc's
settings change nothing.
"""

from __future__ import annotations

import ctypes
import os

# polars' allocator (jemalloc) hands freed pages back almost at once by default: a tenth of a run's CPU time went
# to page faults and madvise. Keeping freed pages five seconds cut a default run's system time by a sixth; memory
# still goes back between refresh cycles.
JEMALLOC = ("_RJEM_MALLOC_CONF", "dirty_decay_ms:5000,muzzy_decay_ms:5000")
# mallopt's parameters (malloc.h), and the values for generating: see for_large_arrays
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8
LARGE_ARRAYS = ((_M_MMAP_THRESHOLD, 32 * 2**20), (_M_TRIM_THRESHOLD, 256 * 2**20), (_M_ARENA_MAX, 1))


def tune() -> None:
    """Every command: polars reads its setting when it loads, so this comes before any command imports polars."""
    os.environ.setdefault(*JEMALLOC)


def for_large_arrays() -> None:
    """The generators draw numpy arrays of tens of MB (a month of a block of meters: 24 MB each), through glibc's
    malloc, which maps an array over its threshold (adapting up to 32 MiB) afresh and unmaps it when freed, and gives
    each thread an arena of heaps of at most 64 MiB. One arena and a fixed 32 MiB threshold reuse the freed memory
    instead; the heap still shrinks when 256 MiB at its top are free. Two months of meters at scale 100: 7.9-8.3 ->
    7.5-7.9 s, a fifth less system time. Not for runs: one arena made a default run 4 % slower. Call before the
    threads start (an arena, once a thread has one, stays)."""
    if "glibc.malloc" in os.environ.get("GLIBC_TUNABLES", ""):
        return
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is None:  # not glibc
        return
    for parameter, value in LARGE_ARRAYS:
        mallopt(parameter, value)
