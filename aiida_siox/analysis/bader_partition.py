"""Bader populations from pp.x cube files with baderkit (runs inside the Bader job; no AiiDA).

Recipe (science notes, section 4): the all-electron density (pp.x ``plot_num=21``, PAW valence +
core) is the reference grid that defines the basins; the valence density (``plot_num=0``) is what
is integrated in each basin. Valence-only partitioning gives Si +3.84 e in quartz, which is wrong.

Cubes are read with ASE, not baderkit's reader: baderkit 0.10.2 reshapes the grid in Fortran
order and transposes, which is only right when n1 = n2 = n3 (quartz gave Si from 2.4 to 7.9 e).

Usage: python bader_partition.py VALENCE.cube REFERENCE.cube OUTPUT.json
"""

from __future__ import annotations

import json
import sys

import numpy as np

BOHR_IN_A = 0.52917721067


def read_cube_density(path: str):
    """(ase.Atoms, density in e/A^3 as an (n1, n2, n3) array in C order) from a Gaussian cube file."""
    from ase.io.cube import read_cube

    with open(path) as handle:
        content = read_cube(handle)
    return content['atoms'], np.asarray(content['data'], float) / BOHR_IN_A**3


def bader_populations(valence_cube: str, reference_cube: str) -> dict:
    """Electrons in each atom's Bader basin: valence density integrated over all-electron basins."""
    import logging

    from baderkit import Bader, Grid, Structure
    from pymatgen.core import Lattice

    logging.getLogger().setLevel(logging.WARNING)
    atoms, valence = read_cube_density(valence_cube)
    ref_atoms, reference = read_cube_density(reference_cube)
    if valence.shape != reference.shape or not np.allclose(atoms.positions, ref_atoms.positions):
        raise ValueError('valence and reference cubes describe different grids or structures')
    structure = Structure(Lattice(atoms.cell[:]), list(atoms.numbers), atoms.get_scaled_positions())
    volume = atoms.get_volume()
    # baderkit stores densities as rho * V_cell (VASP CHGCAR convention).
    charge = Grid(structure=structure, data={'total': valence * volume}, data_type='charge')
    ref = Grid(structure=structure, data={'total': reference * volume}, data_type='charge')
    bader = Bader(charge_grid=charge, total_charge_grid=ref, reference_grid=ref)
    populations = np.asarray(bader.atom_charges, float)
    return {
        'symbols': atoms.get_chemical_symbols(),
        'populations': populations.tolist(),
        'volumes': np.asarray(bader.atom_volumes, float).tolist(),
        'grid_shape': list(valence.shape),
        'integrated_valence': float(valence.sum() * volume / valence.size),
    }


def file_fingerprint(path: str) -> dict:
    """SHA-256 and size of a file: what identifies a cube that is not kept in the repository."""
    import hashlib

    digest = hashlib.sha256()
    size = 0
    with open(path, 'rb') as handle:
        for block in iter(lambda: handle.read(1 << 20), b''):
            digest.update(block)
            size += len(block)
    return {'sha256': digest.hexdigest(), 'bytes': size}


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(__doc__.splitlines()[-1], file=sys.stderr)
        return 2
    result = bader_populations(argv[1], argv[2])
    result['cubes'] = {'valence': file_fingerprint(argv[1]), 'reference': file_fingerprint(argv[2])}
    with open(argv[3], 'w') as handle:
        json.dump(result, handle)
    print(f'Bader partition done: {len(result["populations"])} atoms, grid {result["grid_shape"]}, sum {sum(result["populations"]):.4f} e')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
