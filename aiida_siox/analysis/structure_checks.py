"""Checks on a quenched SiOx cell before any DFT is spent on it (pure numpy, no AiiDA).

What is checked, and why the default bounds are what they are:

- **Density** against a reference for the composition: SiOx modelled as a random mixture of a-Si
  (2.28 g/cm3) and a-SiO2 (2.20 g/cm3) by Si fraction, ``(1 - x/2) Si + (x/2) SiO2``. Every
  composition's reference is therefore 2.20-2.28 g/cm3; the paper's cells came out at 2.25 (x=0)
  and 2.30 (x=2). A cell more than ``density_tolerance`` (default 15 %) away has blown up or
  collapsed in the melt. Cells of 20-30 atoms fluctuate far more (measured 1.54-3.22 g/cm3 over
  three seeds with the ``fast`` schedule, against 2.0-2.3 for 70-90 atoms): the ``fast`` protocol,
  made for such toy cells, allows 40 %, so that only real breakage is flagged there.
- **Minimum interatomic distance** above ``min_distance`` (default 1.2 A): the shortest real bond
  in these materials is Si-O at 1.6 A; anything under 1.2 A is two atoms on top of each other.
- **Voids**: the radius of the largest empty sphere (distance from a point of the cell to its
  nearest atom centre, maximised over a 0.4 A grid). c-Si has 2.35 A (tetrahedral interstitial)
  and alpha-quartz 2.15 A, but glasses are more open: positron lifetimes give a-SiO2 intrinsic
  holes of 0.26-0.30 nm radius beyond the O van der Waals radius (1.52 A), i.e. up to ~4.5 A from
  atom centres, and our quenched cells measure 2.6-2.8 A (x=0), 3.3-3.5 A (x=1), 3.8 A (x=2).
  Default bound ``max_void_radius`` = 4.5 A: anything larger is a cavity the glass does not have.
- **Coordination** of every Si by number of O and Si neighbours (the paper's Fig. S2 classes) and
  the fraction of 4-coordinated Si: reported, not a pass/fail criterion, because under-coordinated
  Si are real in SiOx.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
from ase.data import atomic_masses, atomic_numbers
from scipy.spatial import cKDTree

from aiida_siox.analysis.rdf import coordination_label, coordinations
from aiida_siox.structures.builder import mass_density

#: Standard atomic masses (u) from ASE's table.
MASSES = {symbol: float(atomic_masses[atomic_numbers[symbol]]) for symbol in ('Si', 'O')}
#: Reference densities of the end members (g/cm3): a-Si and a-SiO2 (experiment, see docs/method.md).
DENSITY_A_SI = 2.28
DENSITY_A_SIO2 = 2.20


@dataclass(frozen=True)
class ValidationBounds:
    """Pass/fail bounds of :func:`validate_cell` (see the module docstring for the reasoning)."""

    density_tolerance: float = 0.15
    min_distance: float = 1.2
    max_void_radius: float = 4.5
    void_grid_spacing: float = 0.4


def reference_density(x: float) -> float:
    """Density (g/cm3) of a random a-Si + a-SiO2 mixture with overall composition SiO_x."""
    if not 0.0 <= x <= 2.0:
        raise ValueError(f'x must lie in [0, 2], got {x}')
    f_sio2 = x / 2.0  # fraction of Si that sits in SiO2
    mass_si = (1.0 - f_sio2) * MASSES['Si']
    mass_sio2 = f_sio2 * (MASSES['Si'] + 2 * MASSES['O'])
    return (mass_si + mass_sio2) / (mass_si / DENSITY_A_SI + mass_sio2 / DENSITY_A_SIO2)


def density(symbols: list[str], cell: np.ndarray) -> float:
    """Mass density (g/cm3) of a Si-O cell."""
    others = sorted(set(symbols) - {'Si', 'O'})
    if others:
        raise ValueError(f'only Si and O are counted in a SiOx density, the cell also has {others}')
    return mass_density(symbols.count('Si'), symbols.count('O'), np.asarray(cell, float))


def _periodic_tree(positions: np.ndarray, cell: np.ndarray) -> cKDTree:
    """KD-tree of all atoms and their 26 neighbouring images (exact for distances below the cell height)."""
    shifts = np.array([[i, j, k] for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)], float) @ cell
    return cKDTree((positions[None, :, :] + shifts[:, None, :]).reshape(-1, 3))


def minimum_distance(positions: np.ndarray, cell: np.ndarray) -> float:
    """Shortest distance between two atoms (any periodic images)."""
    positions = _wrap(positions, cell)
    tree = _periodic_tree(positions, cell)
    dist, _ = tree.query(positions, k=2)
    return float(dist[:, 1].min())


def largest_void_radius(positions: np.ndarray, cell: np.ndarray, spacing: float = 0.4) -> float:
    """Radius (A) of the largest empty sphere: max over a grid of the distance to the nearest atom."""
    positions = _wrap(positions, cell)
    lengths = np.linalg.norm(cell, axis=1)
    n = np.maximum(2, np.ceil(lengths / spacing).astype(int))
    axes = [np.arange(k) / k for k in n]
    frac = np.stack(np.meshgrid(*axes, indexing='ij'), axis=-1).reshape(-1, 3)
    dist, _ = _periodic_tree(positions, cell).query(frac @ cell)
    return float(dist.max())


def _wrap(positions: np.ndarray, cell: np.ndarray) -> np.ndarray:
    frac = np.asarray(positions, float) @ np.linalg.inv(cell)
    return (frac % 1.0) @ cell


def coordination_classes(positions: np.ndarray, cell: np.ndarray, symbols: list[str]) -> list[tuple[int, int]]:
    """(n_O, n_Si) neighbours of every Si, in atom order."""
    return coordinations(positions, cell, symbols, [i for i, s in enumerate(symbols) if s == 'Si'])


def validate_cell(symbols: list[str], positions: np.ndarray, cell: np.ndarray, bounds: ValidationBounds | None = None) -> dict:
    """Density, minimum distance, voids and Si coordination classes of a cell, with pass/fail reasons.

    Returns a JSON-able dict; ``valid`` is False when any bound is violated and ``reasons`` says which.
    """
    bounds = bounds or ValidationBounds()
    positions = np.asarray(positions, float)
    cell = np.asarray(cell, float)
    n_si, n_o = symbols.count('Si'), symbols.count('O')
    if n_si == 0:
        raise ValueError('the cell has no Si atom')
    x = n_o / n_si
    rho = density(symbols, cell)
    rho_ref = reference_density(min(x, 2.0))
    d_min = minimum_distance(positions, cell)
    void = largest_void_radius(positions, cell, bounds.void_grid_spacing)
    classes = coordination_classes(positions, cell, symbols)
    counts = Counter(coordination_label(n_o_, n_si_) for n_o_, n_si_ in classes)
    by_oxygen = Counter(f'Si{min(n_o_, 4)}+' for n_o_, _ in classes)
    four_fold = sum(1 for n_o_, n_si_ in classes if n_o_ + n_si_ == 4) / len(classes)

    reasons = []
    if abs(rho - rho_ref) > bounds.density_tolerance * rho_ref:
        reasons.append(f'density {rho:.3f} g/cm3 is more than {bounds.density_tolerance:.0%} from the reference {rho_ref:.3f} g/cm3')
    if d_min < bounds.min_distance:
        reasons.append(f'atoms overlap: minimum distance {d_min:.3f} A < {bounds.min_distance} A')
    if void > bounds.max_void_radius:
        reasons.append(f'void: empty sphere of radius {void:.2f} A > {bounds.max_void_radius} A')
    return {
        'valid': not reasons,
        'reasons': reasons,
        'x': x,
        'n_atoms': len(symbols),
        'formula': f'Si{n_si}O{n_o}' if n_o else f'Si{n_si}',
        'density_g_cm3': rho,
        'reference_density_g_cm3': rho_ref,
        'min_distance_A': d_min,
        'largest_void_radius_A': void,
        'fraction_fourfold_si': four_fold,
        'coordination_classes': dict(sorted(counts.items())),
        'oxidation_classes': {f'Si{k}+': by_oxygen.get(f'Si{k}+', 0) for k in range(5)},
        'bounds': {
            'density_tolerance': bounds.density_tolerance,
            'min_distance_A': bounds.min_distance,
            'max_void_radius_A': bounds.max_void_radius,
        },
    }


def plot_coordination_histogram(report: dict, path: str, title: str = '') -> None:
    """Bar chart of Si coordination classes (fraction of Si per class), as in the paper's Fig. S2."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    classes = report['coordination_classes']
    total = sum(classes.values())
    labels = sorted(classes, key=lambda label: (-classes[label], label))
    fig, ax = plt.subplots(figsize=(max(4.0, 0.5 * len(labels) + 2), 3.2))
    ax.bar(range(len(labels)), [classes[label] / total for label in labels], color='tab:blue')
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha='right', fontsize=8)
    ax.set_ylabel('fraction of Si')
    status = 'valid' if report['valid'] else 'INVALID'
    ax.set_title(title or f'{report["formula"]}, {report["density_g_cm3"]:.2f} g/cm3 ({status})', fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
