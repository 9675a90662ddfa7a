"""Per-site RDF and coordination on cells checkable by hand."""

import numpy as np

from aiida_siox.analysis import rdf


def simple_cubic(a=2.5, n=1):
    cell = np.eye(3) * a * n
    positions = np.array([[i, j, k] for i in range(n) for j in range(n) for k in range(n)], float) * a
    return positions, cell


def test_simple_cubic_shells_by_hand():
    # Neighbours of a simple-cubic site: 6 at a, 12 at a*sqrt2, 8 at a*sqrt3, 6 at 2a (= 5.0, outside r < 5).
    positions, cell = simple_cubic(2.5, n=1)  # a 2.5 A cell: every neighbour is a periodic image
    result = rdf.site_rdf(positions, cell, ['Si'], 0)
    rho = 1 / 2.5**3
    dr = result['r'][1] - result['r'][0]
    counts = result['total'] * 4 * np.pi * result['r'] ** 2 * rho * dr
    assert np.isclose(counts.sum(), 6 + 12 + 8)
    first = counts[np.abs(result['r'] - 2.5) < dr]
    assert np.isclose(first.sum(), 6)
    assert np.isclose(counts[np.abs(result['r'] - 2.5 * np.sqrt(2)) < dr].sum(), 12)
    assert result['r'].shape == (256,) and result['r'][-1] < 5.0


def test_cell_size_does_not_change_the_rdf():
    small = rdf.site_rdf(*simple_cubic(2.5, 1), ['Si'], 0)
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
