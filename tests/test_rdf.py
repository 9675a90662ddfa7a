"""Per-site RDF and coordination on cells checkable by hand."""

import numpy as np
import pytest

from aiida_siox.analysis import rdf


def simple_cubic(a=2.5, n=1):
    cell = np.eye(3) * a * n
    positions = np.array([[i, j, k] for i in range(n) for j in range(n) for k in range(n)], float) * a
    return positions, cell


def test_simple_cubic_shells_by_hand():
    # Neighbours of a simple-cubic site: 6 at a, 12 at a*sqrt2, 8 at a*sqrt3, 6 at 2a (= 5.0, outside r < 5).
    positions, cell = simple_cubic(2.5, n=1)  # a 2.5 A cell: every neighbour is a periodic image
    result = rdf.site_rdf(positions, cell, ['Si'], 0, sigma=0.0)  # raw histogram: exact counts
    rho = 1 / 2.5**3
    dr = result['r'][1] - result['r'][0]
    counts = result['total'] * 4 * np.pi * result['r'] ** 2 * rho * dr
    assert np.isclose(counts.sum(), 6 + 12 + 8)
    first = counts[np.abs(result['r'] - 2.5) < dr]
    assert np.isclose(first.sum(), 6)
    assert np.isclose(counts[np.abs(result['r'] - 2.5 * np.sqrt(2)) < dr].sum(), 12)
    assert result['r'].shape == (256,) and result['r'][-1] < 5.0


def test_cell_size_does_not_change_the_rdf():
    small = rdf.site_rdf(*simple_cubic(2.5, 1), ['Si'], 0)  # default Gaussian broadening
    large_positions, large_cell = simple_cubic(2.5, 3)
    large = rdf.site_rdf(large_positions, large_cell, ['Si'] * 27, 13)
    assert np.allclose(small['total'], large['total'])


def test_partials_sum_to_total_and_coordination():
    # Si at the centre of an O4 tetrahedron (1.61 A) in a big box, one Si 2.35 A away.
    d = 1.61 / np.sqrt(3)
    positions = np.array(
        [[5, 5, 5], [5 + d, 5 + d, 5 + d], [5 - d, 5 - d, 5 + d], [5 - d, 5 + d, 5 - d], [5 + d, 5 - d, 5 - d], [7.35, 5, 5]]
    )
    symbols = ['Si', 'O', 'O', 'O', 'O', 'Si']
    cell = np.eye(3) * 12.0
    result = rdf.site_rdf(positions, cell, symbols, 0)
    assert np.allclose(result['Si'] + result['O'], result['total'])
    assert rdf.coordination(positions, cell, symbols, 0) == (4, 1)
    assert rdf.coordination_label(4, 1) == '[SiSiO4]'
    assert rdf.coordination_label(0, 4) == '[SiSi4]'


def test_broadening_keeps_the_neighbour_count_and_smooths_the_spikes():
    """Gaussian broadening moves no neighbour: the running count matches the histogram's between shells."""
    positions, cell = simple_cubic(2.5, 1)
    raw = rdf.site_rdf(positions, cell, ['Si'], 0, sigma=0.0)
    smooth = rdf.site_rdf(positions, cell, ['Si'], 0, sigma=0.1)
    rho, dr = 1 / 2.5**3, raw['r'][1] - raw['r'][0]
    weight = 4 * np.pi * raw['r'] ** 2 * rho * dr
    between_shells = raw['r'] < 3.2  # the 6 first neighbours at 2.5 A; the next shell is at 3.54 A
    assert np.isclose((raw['total'] * weight)[between_shells].sum(), 6)
    assert (smooth['total'] * weight)[between_shells].sum() == pytest.approx(6, abs=0.01)
    # the spike of the histogram becomes a Gaussian of width sigma: its peak is ~40 times lower
    assert raw['total'].max() > 10 * smooth['total'].max()
    assert smooth['r'][np.argmax(smooth['total'][between_shells])] == pytest.approx(2.5, abs=0.02)
    with pytest.raises(ValueError, match='sigma'):
        rdf.site_rdf(positions, cell, ['Si'], 0, sigma=-0.1)


def test_alpha_quartz_site_has_four_oxygens_at_1p61():
    """Issue check (c): a quartz Si site's O partial integrates to 4 within the first shell, peaked at 1.61 A."""
    from aiida_siox.structures.quartz import alpha_quartz_atoms

    atoms = alpha_quartz_atoms()
    symbols = atoms.get_chemical_symbols()
    site = symbols.index('Si')
    curves = rdf.site_rdf(atoms.positions, atoms.cell[:], symbols, site)
    rho = len(atoms) / atoms.get_volume()
    dr = curves['r'][1] - curves['r'][0]
    running = np.cumsum(curves['O'] * 4 * np.pi * curves['r'] ** 2 * rho * dr)
    first_shell = curves['r'] < 2.0
    assert running[first_shell][-1] == pytest.approx(4.0, abs=0.02)
    assert curves['r'][np.argmax(curves['O'])] == pytest.approx(1.61, abs=0.03)
    assert np.all(curves['Si'][first_shell] < 1e-6)  # no Si within 2 A of a Si in quartz
    assert rdf.coordination(atoms.positions, atoms.cell[:], symbols, site) == (4, 0)
