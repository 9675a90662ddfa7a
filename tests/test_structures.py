"""Structure generator: exact compositions, determinism, clear refusals."""

import numpy as np
import pytest

from aiida_siox.analysis.structure_checks import density
from aiida_siox.structures import PAPER_FORMULAS, build_siox_cell, siox_formula
from aiida_siox.structures.builder import LATTICE_CONSTANT

#: The paper's cells as its text lists them (section 2.1): "Si160, Si180O45, Si150O75, Si120O90, Si100O100,
#: Si100O125, Si96O144, Si80O140, and Si72O144" for x = 0, 0.25, ..., 2. Written out here, not read from the package.
PAPER_TEXT = 'Si160, Si180O45, Si150O75, Si120O90, Si100O100, Si100O125, Si96O144, Si80O140, Si72O144'


def paper_formulas() -> dict[float, tuple[int, int]]:
    import re

    counts = [re.fullmatch(r'Si(\d+)(?:O(\d+))?', name.strip()).groups() for name in PAPER_TEXT.split(',')]
    return {0.25 * i: (int(si), int(o or 0)) for i, (si, o) in enumerate(counts)}


@pytest.mark.parametrize(('x', 'formula'), sorted(paper_formulas().items()))
def test_paper_formulas_exact(x, formula):
    cell = build_siox_cell(x, seed=1, supercell=4)
    assert (cell.symbols.count('Si'), cell.symbols.count('O')) == formula
    assert siox_formula(x, 4) == formula


def test_the_package_table_is_the_papers():
    assert PAPER_FORMULAS == paper_formulas()


def test_paper_cell_size_and_positions():
    cell = build_siox_cell(1.0, seed=3, supercell=4)
    assert np.allclose(np.diag(cell.cell), 4 * LATTICE_CONSTANT)
    assert 14.5 < cell.cell[0, 0] < 15.2  # "about 15 A a side"
    # every atom sits on a distinct lattice site
    assert len(np.unique(np.round(cell.positions, 6), axis=0)) == len(cell.symbols)


def test_same_seed_same_cell_different_seed_different_cell():
    a, b, c = (build_siox_cell(0.75, seed=s, supercell=4) for s in (7, 7, 8))
    assert a.symbols == b.symbols and np.array_equal(a.positions, b.positions)
    assert not np.array_equal(a.positions, c.positions)


def test_small_cells_keep_composition():
    for x in (0.0, 0.5, 1.0, 1.5, 2.0):
        n_si, n_o = siox_formula(x, supercell=2)
        assert abs(n_o / n_si - x) <= 0.5 / n_si + 1e-12
        assert 12 <= n_si + n_o <= 30
    assert siox_formula(1.0, 2) == (12, 12)


def test_surplus_silicon_goes_onto_oxygen_sites():
    cell = build_siox_cell(0.25, seed=2, supercell=4)  # Si180O45: 52 Si more than the 128 Si sites
    frac = (cell.positions / LATTICE_CONSTANT) % 1.0
    on_o_sites = np.isclose(frac % 0.5, 0.25).all(axis=1)
    assert np.sum(on_o_sites[: cell.symbols.count('Si')]) == 180 - 128


@pytest.mark.parametrize(
    ('kwargs', 'message'),
    [
        ({'x': 2.5, 'seed': 1}, 'composition x must lie in'),
        ({'x': -0.1, 'seed': 1}, 'composition x must lie in'),
        ({'x': 1.0, 'seed': 0}, 'seed must be a positive integer'),
        ({'x': 1.0, 'seed': -3}, 'seed must be a positive integer'),
        ({'x': 1.0, 'seed': 1, 'n_si': 300, 'n_o': 200}, 'more atoms than'),
        ({'x': 1.0, 'seed': 1, 'density': 0.0}, 'density must be positive'),
    ],
)
def test_bad_input_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_siox_cell(**kwargs)


def test_start_cell_scaled_to_a_density_keeps_its_fractional_positions():
    lattice = build_siox_cell(1.0, seed=2, supercell=2)
    scaled = build_siox_cell(1.0, seed=2, supercell=2, density=2.22)
    assert density(scaled.symbols, scaled.cell) == pytest.approx(2.22, rel=1e-9)
    assert density(lattice.symbols, lattice.cell) == pytest.approx(2.10, abs=0.05)  # the lattice's own: not 2.22
    frac = lambda c: c.positions @ np.linalg.inv(c.cell)  # noqa: E731
    assert np.allclose(frac(scaled), frac(lattice)) and scaled.symbols == lattice.symbols
