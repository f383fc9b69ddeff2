import platform
import subprocess
import sys

import pytest

from kft.errors import EXIT_OK
from kft.runtime import allocator

pytestmark = pytest.mark.backend_free  # no backend-dependent code

# Allocates and frees 64 MiB with malloc (as torch does for a tensor), then
# allocates it again and prints the page faults of the second allocation:
# one per 4 KiB page when glibc gave the memory back, near zero when kept.
LIBC = """
import ctypes, resource, threading
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
"""
FAULTS = LIBC + """
{setup}
def touched():
    block = libc.malloc(64 << 20)
    ctypes.memset(block, 1, 64 << 20)  # write every page
    libc.free(block)
touched()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
touched()
print("FAULTS", resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""
# The same, on a fresh thread, with a block larger than a thread arena's
# 64 MiB heaps: glibc maps it on its own unless threads share one arena.
THREAD_FAULTS = LIBC + """
from kft.runtime import allocator
allocator.keep()
{setup}
def touched():
    block = libc.malloc(128 << 20)
    ctypes.memset(block, 1, 128 << 20)
    libc.free(block)
def twice():
    touched()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    touched()
    print("FAULTS", resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
worker = threading.Thread(target=twice)
worker.start()
worker.join()
"""
GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


def faults(setup, script=FAULTS):
    out = subprocess.run([sys.executable, "-c", script.format(setup=setup)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == EXIT_OK, out.stderr[-2000:]
    return int(out.stdout.split("FAULTS")[-1])


def test_keep_reports_whether_glibc_took_it():
    assert allocator.keep() is GLIBC


@pytest.mark.skipif(not GLIBC, reason="kft.allocator tunes glibc only")
def test_freed_memory_is_reused_without_page_faults():
    pages = (64 << 20) // 4096
    assert faults("") > pages / 2  # glibc's default: unmapped, faulted in
    assert faults("from kft.runtime import allocator; allocator.keep()") < (
        pages / 20)


@pytest.mark.integration
@pytest.mark.skipif(not GLIBC, reason="kft.allocator tunes glibc only")
@pytest.mark.parametrize("keep", [True, False])
def test_configure_follows_keep_freed_memory(keep):
    setup = ("from kft import TrainConfig\nfrom kft.runtime import setup\n"
             f"setup.configure(TrainConfig(keep_freed_memory={keep}))")
    pages = (64 << 20) // 4096
    assert (faults(setup) < pages / 20) is keep


@pytest.mark.skipif(not GLIBC, reason="kft.allocator tunes glibc only")
def test_threads_reuse_freed_memory_in_one_arena():
    pages = (128 << 20) // 4096
    assert faults("", THREAD_FAULTS) > pages / 2  # a thread's own mapping
    assert faults("allocator.one_arena()", THREAD_FAULTS) < pages / 20


@pytest.mark.skipif(not GLIBC, reason="kft.allocator tunes glibc only")
@pytest.mark.parametrize("name", ["jax", "torch", "tensorflow"])
def test_selecting_jax_puts_threads_in_one_arena(name):
    # Only jax gains from it (kft.runtime.backend._before_jax); select
    # imports no backend, so the thread below is the process's first.
    setup = f"import kft\nkft.backend.select({name!r})"
    one_arena = faults(setup, THREAD_FAULTS) < (128 << 20) // 4096 / 20
    assert one_arena is (name == "jax")
