"""Which BLAS a program's ``libblas.so.3`` resolves to: Debian's QE links whichever is installed.

Debian builds ``pw.x`` and ``xspectra.x`` against the generic ``libblas.so.3``/``liblapack.so.3``, which
point to the reference (unoptimised) implementation unless an optimised one is installed. Measured on
2 cores (session 23): the demo's 24-atom core-hole SCF took 20.8 s with the reference BLAS and 9.3 s with
OpenBLAS (``libopenblas0-serial``), at the same energy. ``siox setup`` says which one the codes use.
"""

from __future__ import annotations

import os
import subprocess

#: The Debian package of the optimised BLAS that `make system-deps` installs (serial: one MPI rank per core).
OPENBLAS_PACKAGE = 'libopenblas0-serial'


def blas_from_ldd(ldd_output: str) -> str | None:
    """The path ``libblas.so.3`` resolves to in ``ldd`` output, or None when the program does not link it."""
    for line in ldd_output.splitlines():
        name, _, rest = line.strip().partition(' => ')
        if name == 'libblas.so.3' and rest:
            return rest.split(' (')[0].strip()
    return None


def is_reference_blas(path: str) -> bool:
    """Whether ``path`` (a ``libblas.so.3``, links followed) is the reference implementation."""
    real = os.path.realpath(path)
    return '/blas/' in real and 'openblas' not in real and 'blis' not in real and 'mkl' not in real


def blas_note(executable: str) -> str | None:
    """A line for ``siox setup`` when ``executable`` runs on the reference BLAS (None otherwise, or when unknown)."""
    try:
        output = subprocess.run(['ldd', executable], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    path = blas_from_ldd(output)
    if path is None or not is_reference_blas(path):
        return None
    return (
        f'{os.path.basename(executable)} runs on the reference BLAS ({os.path.realpath(path)}): about twice slower; '
        f'install the Debian package {OPENBLAS_PACKAGE} (`make system-deps` does)'
    )
