"""Which BLAS Debian's pw.x runs on (setup/blas_check.py): parsed from ldd, and the real pw.x after `make system-deps`."""

import shutil

from aiida_siox.setup.blas_check import blas_from_ldd, blas_note, is_reference_blas

LDD = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibscalapack-openmpi.so.2.2 => /lib/x86_64-linux-gnu/libscalapack-openmpi.so.2.2 (0x00007f1f88c00000)
\tlibblas.so.3 => /lib/x86_64-linux-gnu/libblas.so.3 (0x00007f1f8af45000)
"""


def test_the_blas_is_read_from_ldd_output():
    assert blas_from_ldd(LDD) == '/lib/x86_64-linux-gnu/libblas.so.3'
    assert blas_from_ldd('\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x1)\n') is None


def test_reference_and_optimised_blas_are_told_apart():
    assert is_reference_blas('/usr/lib/x86_64-linux-gnu/blas/libblas.so.3')
    assert not is_reference_blas('/usr/lib/x86_64-linux-gnu/openblas-serial/libblas.so.3')
    assert not is_reference_blas('/usr/lib/x86_64-linux-gnu/blis-openmp/libblas.so.3')


def test_the_installed_pw_runs_on_openblas():
    """`make system-deps` installs libopenblas0-serial: pw.x then resolves libblas.so.3 to it (no warning)."""
    assert blas_note(shutil.which('pw.x')) is None
