"""Keeping freed memory in the process: `keep_freed_memory=true`.

A training step allocates and frees the same few hundred megabytes of
activations and gradients every step. glibc's `malloc` hands large blocks
straight back to the operating system (`munmap`, heap trimming), so the
next step gets fresh pages and pays a page fault for every 4 KiB of them.
With length buckets the shapes change from batch to batch and glibc never
settles: on this project's 2-core CPU, a torch MRPC step spent 0.55 of its
1.04 seconds in the kernel, zeroing pages (`tools/results/speed_mrpc.md`).

`keep()` tells glibc to serve every block from its heap and never give the
heap back, through `mallopt`, the same switches as the `MALLOC_MMAP_MAX_`
and `MALLOC_TRIM_THRESHOLD_` environment variables but usable after start
up. Freed memory is then reused without a fault. The price is that the
process keeps its peak memory until it exits. Other C libraries (macOS,
musl) are left alone.

`one_arena()` is the other half, for memory that threads allocate. glibc
gives each allocating thread an arena of its own, whose heaps are at most
64 MiB; a larger block is mapped on its own and unmapped when freed,
whatever `keep()` says. XLA's CPU runtime allocates on its worker threads,
large blocks among them: a jax MRPC step (MiniLM, 32 x 64 tokens) took
184,000 page faults, 0.32 s of kernel time in a 1.02 s step. With one
arena it takes none, in 0.88 s. Only threads that have not allocated yet
follow the setting, so `kft.backend.select` calls it before keras and its
backend start theirs.
"""

import ctypes
import ctypes.util
import platform

M_TRIM_THRESHOLD = -1  # from glibc's malloc.h
M_MMAP_MAX = -4
M_ARENA_MAX = -8
NEVER = 2**31 - 1  # mallopt takes an int: the largest trim threshold


def keep() -> bool:
    """Makes glibc reuse freed memory instead of returning it to the OS.

    Process-wide and lasting; calling it again changes nothing.

    Returns:
        True when glibc took the settings, False on other C libraries.

    Example:

    ```python
    from kft.runtime import allocator
    allocator.keep()
    ```
    """
    libc = _glibc()
    if libc is None:
        return False
    return bool(libc.mallopt(M_MMAP_MAX, 0)
                and libc.mallopt(M_TRIM_THRESHOLD, NEVER))


def one_arena() -> bool:
    """Makes threads allocate from glibc's main heap instead of arenas of
    their own, which glibc returns to the OS when they empty.

    Process-wide and lasting. Affects only threads that allocate after it:
    call it before importing keras (`kft.backend.select` does). Setting
    `MALLOC_ARENA_MAX=1` before Python starts does the same.

    Returns:
        True when glibc took the setting, False on other C libraries.
    """
    libc = _glibc()
    return libc is not None and bool(libc.mallopt(M_ARENA_MAX, 1))


def _glibc():
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") else None
