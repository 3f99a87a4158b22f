"""The allocator settings of a `lakehouse` process (core/allocators.py), observed in fresh processes: what polars'
allocator will read, and glibc's own count of the bytes it serves from separate mappings."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    not hasattr(ctypes.CDLL(None), "mallinfo2"), reason="glibc's malloc (mallinfo2) is what is tuned"
)

# A process that (maybe) sets its allocators as `generate` does, then holds an array of 24 MB, as the meters
# generator does, and prints how many bytes glibc serves from separate mappings, and what polars' allocator will read.
PROBE = """
import ctypes, os, sys
if sys.argv[1] == "tune":
    from core import allocators
    allocators.tune()
    allocators.for_large_arrays()
import numpy as np

class Mallinfo2(ctypes.Structure):
    names = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"
    _fields_ = [(name, ctypes.c_size_t) for name in names.split()]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Mallinfo2
held = np.ones(3_000_000)
print(libc.mallinfo2().hblkhd, os.environ.get("_RJEM_MALLOC_CONF"))
"""
ARRAY_BYTES = 24_000_000


def _probe(mode: str, **env: str) -> tuple[int, str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("GLIBC_TUNABLES", "_RJEM_MALLOC_CONF")} | env
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode], cwd=ROOT, env=environment, capture_output=True, text=True, check=True
    ).stdout.split()
    return int(out[0]), out[1]


def test_a_large_array_comes_from_the_heap_once_tuned():
    mapped, jemalloc = _probe("tune")
    assert mapped < ARRAY_BYTES
    assert jemalloc == "dirty_decay_ms:5000,muzzy_decay_ms:5000"
    untuned, _ = _probe("plain")  # glibc's default: the array is a mapping of its own
    assert untuned >= ARRAY_BYTES


def test_the_users_own_settings_win():
    mapped, jemalloc = _probe(
        "tune", GLIBC_TUNABLES="glibc.malloc.mmap_threshold=1048576", _RJEM_MALLOC_CONF="narenas:2"
    )
    assert mapped >= ARRAY_BYTES
    assert jemalloc == "narenas:2"
