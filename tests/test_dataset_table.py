"""Dataset table export/import: round trips and the errors a user's own table can get (no AiiDA)."""

import numpy as np
import pytest

from aiida_siox.analysis.dataset_table import R_GRID, DatasetFormatError, read_table, validate_table, write_csv, write_npz
from aiida_siox.analysis.spectrum import ML_GRID


@pytest.fixture
def table():
    rng = np.random.default_rng(0)
    n = 5
    return {
        'spectra': rng.random((n, 256)),
        'energy': ML_GRID.copy(),
        'charge': rng.normal(size=n),
        'rdf': rng.random((n, 256)),
        'r': R_GRID.copy(),
        'x': np.array([0.0, 0.5, 1.0, 1.5, 2.0]),
        'seed': np.arange(1, n + 1),
        'site': np.arange(n),
        'n_o': np.array([0, 1, 2, 3, 4]),
        'n_si': np.array([4, 3, 2, 1, 0]),
        'structure_uuid': np.array([f'uuid-{i}' for i in range(n)]),
    }


@pytest.mark.parametrize('suffix', ['.npz', '.csv'])
def test_round_trip_is_exact(table, tmp_path, suffix):
    path = tmp_path / f'data{suffix}'
    (write_npz if suffix == '.npz' else write_csv)(table, path)
    back = read_table(path)
    for name, values in table.items():
        if values.dtype.kind == 'U':
            assert back[name].tolist() == values.tolist()
        else:
            assert np.array_equal(back[name], values), name  # repr() keeps every float bit
    assert back['seed'].dtype.kind == 'i'


def test_r_grid_is_the_bin_centres_of_the_rdf():
    assert R_GRID[0] == pytest.approx(5.0 / 512) and R_GRID[-1] == pytest.approx(5.0 - 5.0 / 512)


@pytest.mark.parametrize(
    ('change', 'message'),
    [
        (lambda t: t.pop('charge'), 'missing arrays: charge'),
        (lambda t: t.__setitem__('spectra', t['spectra'][:, :200]), r'spectra must have shape \(rows, 256\)'),
        (lambda t: t.__setitem__('energy', t['energy'] + 1.0), 'energy must be the ML grid'),
        (lambda t: t.__setitem__('r', np.linspace(0, 5, 256)), 'r must be the RDF grid'),
        (lambda t: t['spectra'].__setitem__((3, 7), np.nan), r'spectra has NaN or infinite values in rows \[3\]'),
        (lambda t: t['x'].__setitem__(0, 2.5), r'x must lie in \[0, 2\]'),
        (lambda t: t.__setitem__('site', t['site'] + 0.5), 'site must hold integers'),
        (lambda t: t.__setitem__('seed', t['seed'][:3]), r'seed must have one value per row \(5\)'),
    ],
)
def test_bad_tables_are_refused_with_the_reason(table, change, message):
    change(table)
    with pytest.raises(DatasetFormatError, match=message):
        validate_table(table)


def test_bad_csv_files_are_refused(table, tmp_path):
    path = tmp_path / 'data.csv'
    write_csv(table, path)
    lines = path.read_text().splitlines()
    (tmp_path / 'short.csv').write_text('\n'.join([lines[0], lines[1], lines[2].rsplit(',', 1)[0]]) + '\n')
    with pytest.raises(DatasetFormatError, match='line 3: 518 fields, the header has 519'):
        read_table(tmp_path / 'short.csv')
    (tmp_path / 'nocharge.csv').write_text('\n'.join(line.replace('charge', 'q', 1) for line in lines[:2]) + '\n')
    with pytest.raises(DatasetFormatError, match='missing columns charge'):
        read_table(tmp_path / 'nocharge.csv')
    (tmp_path / 'text.csv').write_text('\n'.join([lines[0], lines[1].replace(lines[1].split(',')[5], 'abc', 1)]) + '\n')
    with pytest.raises(DatasetFormatError, match='could not convert'):
        read_table(tmp_path / 'text.csv')
    with pytest.raises(DatasetFormatError, match=r'expected \.npz or \.csv'):
        read_table(tmp_path / 'data.txt')


def test_structure_averages_are_means_over_each_structures_sites():
    from aiida_siox.analysis.structure_averages import average_by_structure

    spectra = np.array([[1.0, 2.0], [3.0, 4.0], [10.0, 10.0]])
    rdf = np.array([[0.0, 1.0], [2.0, 3.0], [5.0, 5.0]])
    result = average_by_structure(['b', 'b', 'a'], spectra, np.array([1.0, 3.0, -2.0]), rdf)
    assert result['structure'].tolist() == ['b', 'a']
    assert result['n_sites'].tolist() == [2, 1]
    assert result['mean_spectrum'].tolist() == [[2.0, 3.0], [10.0, 10.0]]
    assert result['mean_charge'].tolist() == [2.0, -2.0]
    assert result['std_charge'].tolist() == [1.0, 0.0]
    assert result['mean_rdf'].tolist() == [[1.0, 2.0], [5.0, 5.0]]
    with pytest.raises(ValueError, match='one entry per row'):
        average_by_structure(['a'], spectra, np.zeros(3), rdf)


def test_onsets_by_composition_follow_the_mean_spectra():
    from aiida_siox.analysis.spectrum import ML_GRID
    from aiida_siox.analysis.structure_averages import onsets_by_composition

    def edge(centre):
        return 1.0 / (1.0 + np.exp(-(ML_GRID - centre) / 0.3)) * np.exp(-((ML_GRID - centre - 1.5) ** 2) / 8.0)

    x = np.array([0.0, 0.0, 2.0])
    spectra = np.stack([edge(1839.0), edge(1840.0), edge(1845.5)])
    onsets = onsets_by_composition(x, ML_GRID, spectra)
    assert list(onsets) == [0.0, 2.0] and onsets[0.0]['n_sites'] == 2
    assert np.allclose(onsets[0.0]['mean_spectrum'], spectra[:2].mean(axis=0))
    # the x = 2 edge sits 6 eV above the x = 0 sites' mean edge (1839.5 eV)
    assert onsets[2.0]['onset_ev'] - onsets[0.0]['onset_ev'] == pytest.approx(6.0, abs=0.3)


def test_a_structure_table_names_its_packed_columns_and_a_site_without_a_usable_spectrum_says_why():
    from aiida_siox.calculations.dataset import TABLE_VALUES, missing_reason, table_columns

    values = np.array([[0.5, 3, 7, 2, 2, 1.6], [0.5, 3, 9, 4, 0, 3.1]])
    uuids = np.array([['s', 'a', 'c', 'r'], ['s', 'b', 'c', 'r']], dtype='U36')
    columns = table_columns({'values': values, 'uuids': uuids})
    assert TABLE_VALUES == ('x', 'seed', 'site', 'n_o', 'n_si', 'charge')
    assert columns['site'].tolist() == [7, 9] and columns['site'].dtype.kind == 'i' and columns['charge'].tolist() == [1.6, 3.1]
    assert columns['spectrum_uuid'].tolist() == ['a', 'b'] and columns['rdfs_uuid'].tolist() == ['r', 'r']
    assert 'source_filename' not in columns

    flat = np.ones_like(ML_GRID)
    assert missing_reason(ML_GRID, flat, (1820.0, 1890.0), True) is None
    assert missing_reason(None, None, None, True) == 'no spectrum (site failed or not run)'
    assert missing_reason(ML_GRID, flat, (1820.0, 1890.0), False) == 'no Bader charge'
    short = flat.copy()
    short[-10:] = np.nan
    assert missing_reason(ML_GRID, short, (1825.0, 1877.5), True).startswith('aligned range 1825.0-1877.5 eV does not cover 1830-1880 eV')
    with pytest.raises(ValueError, match='not on the ML grid'):
        missing_reason(ML_GRID + 1.0, flat, (1820.0, 1890.0), True)
