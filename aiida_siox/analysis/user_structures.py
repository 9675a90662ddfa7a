"""Checks of a user's own cell before any job is submitted for it (pure numpy).

The pipeline's physics holds for periodic cells of Si and O only: the Tersoff potential, the
pseudopotential families and the Bader/RDF targets know no other element; pw.x needs a cell; atoms
closer than 1.0 A (Si-O bonds are 1.6 A) are a broken file or a bad unit. A cell whose periodic
images of the absorber are close lets the core holes interact: a warning, with the distance.
"""

from __future__ import annotations

import numpy as np

from aiida_siox.analysis.structure_checks import minimum_distance

#: The elements the pipeline knows.
ALLOWED_ELEMENTS = ('O', 'Si')
#: Atoms closer than this (A) are refused.
MIN_ATOM_DISTANCE = 1.0
#: Periodic images of a core hole closer than this (A) interact noticeably (the paper's cells: ~14 A).
MIN_IMAGE_DISTANCE = 8.0


def image_distance(cell: np.ndarray) -> float:
    """Shortest distance (A) between an atom and its own periodic image: the shortest lattice vector.

    Searched over integer combinations -2..2 of the cell vectors (exact unless the cell is extremely skewed).
    """
    cell = np.asarray(cell, float)
    steps = np.array([(i, j, k) for i in range(-2, 3) for j in range(-2, 3) for k in range(-2, 3) if (i, j, k) != (0, 0, 0)], float)
    return float(np.linalg.norm(steps @ cell, axis=1).min())


def user_structure_problems(symbols: list[str], positions: np.ndarray, cell: np.ndarray, pbc: list[bool]) -> tuple[list[str], list[str]]:
    """(errors, warnings) for one cell; any error means the cell is not submitted."""
    errors, warnings = [], []
    others = sorted(set(symbols) - set(ALLOWED_ELEMENTS))
    if others:
        errors.append(f'elements {others}: only Si and O are supported (Tersoff potential, pseudopotentials, Bader targets)')
    if 'Si' not in symbols:
        errors.append('no Si atom: there is no site for a Si K-edge spectrum')
    cell = np.asarray(cell, float)
    if not all(pbc) or abs(np.linalg.det(cell)) < 1e-6:
        errors.append('no periodic cell in all three directions: give the lattice vectors (e.g. a Lattice= line in extxyz)')
        return errors, warnings
    closest = minimum_distance(np.asarray(positions, float), cell) if len(symbols) > 1 else np.inf
    if closest < MIN_ATOM_DISTANCE:
        errors.append(f'two atoms {closest:.2f} A apart (less than {MIN_ATOM_DISTANCE} A): overlapping atoms or wrong units')
    images = image_distance(cell)
    if images < MIN_IMAGE_DISTANCE:
        warnings.append(
            f'core-hole images {images:.1f} A apart (shortest lattice vector; below {MIN_IMAGE_DISTANCE} A they interact): '
            'the spectra carry a finite-size error; use a larger cell for production'
        )
    return errors, warnings


def composition_x(symbols: list[str]) -> float:
    """x of SiOx: O atoms per Si atom."""
    n_si = symbols.count('Si')
    return symbols.count('O') / n_si if n_si else float('nan')
