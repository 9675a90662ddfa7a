"""Compile baderkit's numba kernels once at set-up, on the computer that runs the Bader jobs.

baderkit compiles its kernels with numba on first use and caches them on disk next to its own
files: the first Bader job of a fresh installation spent 115 s compiling, the next ones 4-6 s. A
tiny real Bader job (a two-atom cell of Gaussian densities, no pw.x) run at set-up through the
same code pays that once, so a user's first pipeline does not. The code is marked with the
baderkit version it was warmed for; a later set-up skips it.

numba compiles one kernel per argument *type*, and baderkit types its label arrays by the grid's size:
uint16 up to 65,535 points, uint32 above. The first warm-up used a 20x21x22 grid (uint16), and the
first real job (a 24-atom cell, ~200,000 points) still compiled for 59 s: its kernels were the uint32
ones (read off numba's cache index). The warm-up grid is therefore larger than 65,535 points, the size
of every real cell (a 9-atom quartz cell at 240 Ry has ~97,000).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

#: Extra on the Python code: the baderkit version (and warm-up grid) whose numba cache was warmed through it.
WARMED_EXTRA = 'siox_bader_warmed'
#: Marks the warm-up on a grid of real size; a code warmed before it (uint16 kernels only) is warmed again.
WARMUP_REVISION = 'uint32-grid'


def synthetic_cubes(directory: Path):
    """(atoms, valence cube, all-electron cube) of a two-atom Si cell with Gaussian densities (a non-cubic grid)."""
    from ase import Atoms
    from ase.io.cube import write_cube

    atoms = Atoms('Si2', scaled_positions=[[0.0, 0.0, 0.0], [0.5, 0.5, 0.5]], cell=[4.0, 4.2, 4.4], pbc=True)
    shape = (40, 42, 44)  # 73,920 points: above 65,535, so the uint32 kernels of real grids (module docstring)
    axes = [np.arange(n) / n for n in shape]
    frac = np.stack(np.meshgrid(*axes, indexing='ij'), axis=-1)
    density = np.zeros(shape)
    for position in atoms.get_scaled_positions():
        delta = (frac - position + 0.5) % 1.0 - 0.5
        density += np.exp(-np.sum((delta @ atoms.cell.array) ** 2, axis=-1) / 0.5)
    density *= 8.0 / (density.sum() * atoms.get_volume() / density.size)  # 4 valence electrons per Si
    paths = (directory / 'valence.cube', directory / 'reference.cube')
    for path, data in zip(paths, (density, density * 1.5), strict=True):
        with path.open('w') as handle:
            write_cube(handle, atoms, data=data * 0.52917721067**3)  # cube files hold e/bohr^3
    return atoms, *paths


def warm_bader_cache(code, echo: Callable[[str], None] = print, force: bool = False) -> float | None:
    """Run one tiny BaderCalculation through ``code``; return its wall time (s), None when already warm."""
    from aiida import orm
    from aiida.engine import run_get_node
    from baderkit import __version__ as baderkit_version

    from aiida_siox.calculations.bader import BaderCalculation

    marker = f'{baderkit_version}+{WARMUP_REVISION}'
    if not force and code.base.extras.get(WARMED_EXTRA, None) == marker:
        echo(f'  baderkit {baderkit_version} kernels: compiled on {code.computer.label} already')
        return None
    with tempfile.TemporaryDirectory() as directory:
        atoms, valence, reference = synthetic_cubes(Path(directory))
        folders = {}
        for name, path in (('valence_density', valence), ('reference_density', reference)):
            folder = orm.FolderData()
            folder.base.repository.put_object_from_file(str(path), 'aiida.fileout')
            folders[name] = folder
    echo(f'  baderkit {baderkit_version} kernels: compiling on {code.computer.label} (one tiny Bader job, ~2 min once) ...')
    start = time.perf_counter()
    _, node = run_get_node(
        BaderCalculation,
        code=code,
        structure=orm.StructureData(ase=atoms),
        z_valence=orm.Dict({'Si': 4.0}),
        tolerance=orm.Float(0.5),
        metadata={'label': 'numba warm-up', 'options': {'withmpi': False, 'max_wallclock_seconds': 1800}},
        **folders,
    )
    seconds = time.perf_counter() - start
    if not node.is_finished_ok:
        echo(f'  WARNING: the warm-up Bader job <{node.pk}> failed ({node.exit_status}); the first real one will compile')
        return seconds
    code.base.extras.set(WARMED_EXTRA, marker)
    echo(f'  baderkit kernels compiled in {seconds:.0f} s (BaderCalculation<{node.pk}>)')
    return seconds


def compile_kernels_here() -> float:
    """Compile baderkit's kernels into its on-disk cache from this Python, without AiiDA; the seconds it took.

    ``make venv`` runs it (``python -m aiida_siox.setup.bader_warmup``) as part of the installation, so that
    the compilation is paid with the other installation steps and not inside the first `siox setup`, test or
    pipeline. The cache lives next to baderkit's files, so a job run by this same Python finds it (measured:
    152 s here, then the set-up's Bader job 5 s); a cluster's Python environment runs this module once too
    (docs/hpc.md).
    """
    from aiida_siox.analysis.bader_partition import bader_populations

    with tempfile.TemporaryDirectory() as directory:
        _, valence, reference = synthetic_cubes(Path(directory))
        start = time.perf_counter()
        bader_populations(str(valence), str(reference))
        return time.perf_counter() - start


if __name__ == '__main__':
    print(f"baderkit's numba kernels compiled into its cache in {compile_kernels_here():.0f} s")
