import platform
import subprocess
import sys

import pytest

from kft import allocator

# Allocates and frees 64 MiB with malloc (as torch does for a tensor), then
# allocates it again and prints the page faults of the second allocation:
# one per 4 KiB page when glibc gave the memory back, near zero when kept.
FAULTS = """
import ctypes, resource
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
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
GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


def faults(setup):
    out = subprocess.run([sys.executable, "-c", FAULTS.format(setup=setup)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return int(out.stdout.split("FAULTS")[-1])


def test_keep_reports_whether_glibc_took_it():
    assert allocator.keep() is GLIBC


@pytest.mark.skipif(not GLIBC, reason="kft.allocator tunes glibc only")
def test_freed_memory_is_reused_without_page_faults():
    pages = (64 << 20) // 4096
    assert faults("") > pages / 2  # glibc's default: unmapped, faulted in
    assert faults("import kft.allocator; kft.allocator.keep()") < pages / 20


@pytest.mark.skipif(not GLIBC, reason="kft.allocator tunes glibc only")
@pytest.mark.parametrize("keep", [True, False])
def test_configure_follows_keep_freed_memory(keep):
    setup = ("from kft import TrainConfig, backend\n"
             f"backend.configure(TrainConfig(keep_freed_memory={keep}))")
    pages = (64 << 20) // 4096
    assert (faults(setup) < pages / 20) is keep
