"""The JSON writer allocates nothing per message in steady state: count malloc calls (via an LD_PRELOAD
shim built here) around `bus-testpub bench-encode` for a few and for many encodes; the counts must match."""
import os
import re
import shutil
import subprocess

import pytest

from bus_support import bus_testpub_binary

COUNTER = r"""
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
static unsigned long calls;
void *malloc(size_t n) { __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED); return __libc_realloc(p, n); }
int posix_memalign(void **out, size_t align, size_t n) {
    __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
    *out = __libc_memalign(align, n);
    return *out ? 0 : 12;
}
void *aligned_alloc(size_t align, size_t n) { __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED); return __libc_memalign(align, n); }
__attribute__((destructor)) static void report(void) {
    char text[64];
    int n = snprintf(text, sizeof text, "malloc_calls=%lu\n", calls);
    write(2, text, n);
}
"""


@pytest.fixture(scope="module")
def counter(tmp_path_factory):
    compiler = shutil.which("cc") or shutil.which("gcc")
    assert compiler, "no C compiler on PATH"
    directory = tmp_path_factory.mktemp("malloc")
    (directory / "count.c").write_text(COUNTER)
    library = directory / "libcount.so"
    subprocess.run([compiler, "-shared", "-fPIC", "-O2", "-o", str(library), str(directory / "count.c")], check=True,
                   timeout=120)
    return library


def malloc_calls(counter, count):
    result = subprocess.run([str(bus_testpub_binary()), "bench-encode", "--count", str(count), "--side", "64"],
                            env={**os.environ, "LD_PRELOAD": str(counter)}, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert re.match(rf"encoded={count} bytes=\d+", result.stdout), result.stdout
    return int(re.search(r"malloc_calls=(\d+)", result.stderr).group(1))


def test_encoding_allocates_nothing_per_message(counter):
    few, many = malloc_calls(counter, 5), malloc_calls(counter, 2000)
    assert few > 0, "the counter sees nothing: LD_PRELOAD did not take effect"
    assert many == few, f"{many - few} extra malloc calls for 1995 extra messages"
