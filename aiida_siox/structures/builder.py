"""Random SiOx starting cells cut from a cubic SiO2 lattice.

The paper starts from a 4x4x4 supercell of cubic SiO2 (384 atoms, ~15 A a side) and removes Si
and/or O at random. The 6-atom cubic cell that gives 384 = 64 x 6 sites and a ~15 A supercell is
the anti-cuprite (Cu2O-type) SiO2: Si on a bcc lattice, O at the tetrahedral centres, Si-O = a*sqrt(3)/4.
With Si-O = 1.61 A, a = 3.72 A and 4a = 14.87 A.

The paper's formulas at n = 4 contain up to 180 Si, more than the 128 Si sites of the lattice. The
generator keeps the cell fixed and treats all 384 sites as available: Si fill the Si sublattice
first, surplus Si go onto randomly chosen O sites, and O fill randomly chosen remaining O sites.
A fixed cell keeps every composition near 2.1-2.3 g/cm3 at the start, which the NPT melt then
relaxes; it needs no guessed density per composition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase.data import atomic_masses, atomic_numbers

#: Grams per atomic mass unit.
AMU_G = 1.66053906660e-24

#: Si-O bond length used to size the cubic cell (A).
SI_O_BOND = 1.61
#: Cubic lattice constant of the 6-atom anti-cuprite SiO2 cell (A).
LATTICE_CONSTANT = 4 * SI_O_BOND / np.sqrt(3)

_SI_FRAC = np.array([[0.0, 0.0, 0.0], [0.5, 0.5, 0.5]])
_O_FRAC = np.array([[0.25, 0.25, 0.25], [0.75, 0.75, 0.25], [0.75, 0.25, 0.75], [0.25, 0.75, 0.75]])

#: The paper's nine compositions for the 4x4x4 supercell: x -> (n_Si, n_O).
PAPER_FORMULAS: dict[float, tuple[int, int]] = {
    0.0: (160, 0),
    0.25: (180, 45),
    0.5: (150, 75),
    0.75: (120, 90),
    1.0: (100, 100),
    1.25: (100, 125),
    1.5: (96, 144),
    1.75: (80, 140),
    2.0: (72, 144),
}


@dataclass(frozen=True)
class SioxCell:
    """A starting cell: symbols, Cartesian positions (A) and a cubic cell matrix (A)."""

    symbols: list[str]
    positions: np.ndarray
    cell: np.ndarray

    @property
    def formula(self) -> str:
        n_si = self.symbols.count('Si')
        n_o = self.symbols.count('O')
        return f'Si{n_si}O{n_o}' if n_o else f'Si{n_si}'


def _check_x(x: float) -> float:
    x = float(x)
    if not 0.0 <= x <= 2.0:
        raise ValueError(f'composition x must lie in [0, 2] for SiOx, got x = {x}')
    return x


def siox_formula(x: float, supercell: int = 4) -> tuple[int, int]:
    """Return (n_Si, n_O) for composition ``x`` in an ``supercell``^3 cubic SiO2 supercell.

    For ``supercell=4`` and the paper's nine x values this is exactly the paper's formula. Other
    sizes scale the paper's Si count by (supercell/4)^3 (interpolated linearly in x between the
    paper's compositions), round it, and take n_O = round(x * n_Si), so x is kept as closely as an
    integer count allows and the starting density stays that of the paper's cells.
    """
    x = _check_x(x)
    if int(supercell) != supercell or supercell < 1:
        raise ValueError(f'supercell must be a positive integer, got {supercell!r}')
    if supercell == 4 and x in PAPER_FORMULAS:
        return PAPER_FORMULAS[x]
    xs = np.array(sorted(PAPER_FORMULAS))
    n_si_paper = np.interp(x, xs, [PAPER_FORMULAS[k][0] for k in xs])
    n_si = max(1, round(n_si_paper * (supercell / 4) ** 3))
    n_o = round(x * n_si)
    if n_si + n_o > 6 * supercell**3:
        raise ValueError(f'{n_si} Si + {n_o} O do not fit in the {6 * supercell**3} sites of a {supercell}^3 cell')
    return n_si, n_o


def build_siox_cell(
    x: float, seed: int, supercell: int = 4, n_si: int | None = None, n_o: int | None = None, density: float | None = None
) -> SioxCell:
    """Build a random SiOx starting cell, deterministic in ``seed``.

    :param x: composition, 0 <= x <= 2.
    :param seed: positive integer; the same seed always gives the same cell.
    :param supercell: n for an n x n x n supercell of the 6-atom cubic SiO2 cell.
    :param n_si: explicit Si count (default: :func:`siox_formula`); with ``n_o`` it overrides x's counts.
    :param n_o: explicit O count.
    :param density: when given (g/cm3), the cell and positions are scaled isotropically to this mass
        density; by default the lattice's own volume is kept (2.1-2.3 g/cm3 for the paper's formulas).
    """
    x = _check_x(x)
    if isinstance(seed, bool) or int(seed) != seed or seed <= 0:
        raise ValueError(f'seed must be a positive integer, got {seed!r}')
    default_si, default_o = siox_formula(x, supercell)
    n_si = default_si if n_si is None else int(n_si)
    n_o = default_o if n_o is None else int(n_o)
    n_si_sites = 2 * supercell**3
    n_o_sites = 4 * supercell**3
    if n_si < 1 or n_o < 0:
        raise ValueError(f'need at least one Si and a non-negative O count, got Si{n_si}O{n_o}')
    if n_si + n_o > n_si_sites + n_o_sites:
        raise ValueError(f'Si{n_si}O{n_o} has more atoms than the {n_si_sites + n_o_sites} sites of the cell')

    grid = np.array([[i, j, k] for i in range(supercell) for j in range(supercell) for k in range(supercell)], float)
    si_sites = (grid[:, None, :] + _SI_FRAC[None]).reshape(-1, 3)
    o_sites = (grid[:, None, :] + _O_FRAC[None]).reshape(-1, 3)

    rng = np.random.default_rng(int(seed))
    if n_si <= n_si_sites:
        si_pos = si_sites[np.sort(rng.choice(n_si_sites, n_si, replace=False))]
        free_o = np.arange(n_o_sites)
    else:
        # Surplus Si take random O sites; O then share what is left.
        extra = rng.permutation(n_o_sites)
        si_pos = np.vstack([si_sites, o_sites[np.sort(extra[: n_si - n_si_sites])]])
        free_o = np.sort(extra[n_si - n_si_sites :])
    o_pos = o_sites[np.sort(rng.choice(free_o, n_o, replace=False))]
    positions = np.vstack([si_pos, o_pos]) * LATTICE_CONSTANT
    cell = np.eye(3) * LATTICE_CONSTANT * supercell
    if density is not None:
        if not density > 0:
            raise ValueError(f'density must be positive (g/cm3), got {density!r}')
        scale = (mass_density(n_si, n_o, cell) / density) ** (1 / 3)
        positions, cell = positions * scale, cell * scale
    return SioxCell(symbols=['Si'] * n_si + ['O'] * n_o, positions=positions, cell=cell)


def mass_density(n_si: int, n_o: int, cell: np.ndarray) -> float:
    """Mass density (g/cm3) of ``n_si`` Si and ``n_o`` O atoms in ``cell`` (A), with ASE's atomic masses."""
    mass_u = n_si * atomic_masses[atomic_numbers['Si']] + n_o * atomic_masses[atomic_numbers['O']]
    return float(mass_u * AMU_G / (abs(np.linalg.det(cell)) * 1e-24))
