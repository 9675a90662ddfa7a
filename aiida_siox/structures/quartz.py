"""Alpha-quartz, the calibration reference, and the supercell that matches a production cell.

The calibration constant C absorbs whatever error the quartz run carries. In the 9-atom primitive
cell the core hole sits ~5 A from its own periodic image, an error the amorphous production cells
(7.7 A and more) do not share; so the calibration cell is chosen per protocol as the smallest
quartz supercell whose shortest side is at least the production cell's (docs/method.md).
"""

from __future__ import annotations

import math

from ase import Atoms
from ase.spacegroup import crystal

#: Alpha-quartz (P3_221), lattice parameters (A) and the Si 3a / O 6c positions.
QUARTZ_A, QUARTZ_C = 4.913, 5.405


def alpha_quartz_atoms(repeat: tuple[int, int, int] = (1, 1, 1)) -> Atoms:
    """Alpha-quartz (9 atoms per cell), repeated ``repeat`` times along a, b, c."""
    atoms = crystal(
        ['Si', 'O'],
        [(0.4697, 0.0, 2 / 3), (0.4135, 0.2669, 0.7858)],
        spacegroup=154,
        cellpar=[QUARTZ_A, QUARTZ_A, QUARTZ_C, 90, 90, 120],
    )
    return atoms.repeat(tuple(int(n) for n in repeat))


def quartz_supercell_for(min_side: float) -> tuple[int, int, int]:
    """The smallest (n, n, m) alpha-quartz supercell whose cell vectors are all at least ``min_side`` (A) long."""
    if min_side <= 0:
        raise ValueError(f'min_side must be positive, got {min_side}')
    n, m = max(1, math.ceil(min_side / QUARTZ_A - 1e-9)), max(1, math.ceil(min_side / QUARTZ_C - 1e-9))
    return (n, n, m)


def shortest_side(atoms: Atoms) -> float:
    """Length (A) of the shortest cell vector."""
    return float(min(atoms.cell.lengths()))
