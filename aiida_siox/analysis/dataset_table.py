"""The dataset table on disk: export to ``.npz`` / ``.csv`` and validated import (pure numpy, no AiiDA).

One row per Si site. Arrays (n = rows): ``spectra`` (n, 256) on ``energy`` (256, the ML grid
1830-1880 eV), ``charge`` (n), ``rdf`` (n, 256) on ``r`` (256, bin centres on 0-5 A), ``x`` (n),
``seed`` (n), ``site`` (n), ``n_o`` (n), ``n_si`` (n). Exports also carry the UUIDs of each row's
structure, spectrum and charge nodes (``structure_uuid``, ``spectrum_uuid``, ``charge_uuid``) when
they are known. The CSV has one line per row: the scalar columns, the UUIDs, then
``spectrum_0..255`` and ``rdf_0..255``; its grids are the fixed ML and RDF grids.
"""

from __future__ import annotations

import csv
import pathlib

import numpy as np

from aiida_siox.analysis.rdf import N_POINTS, R_MAX, radial_grid
from aiida_siox.analysis.spectrum import ML_GRID

R_GRID = radial_grid()
SCALAR_COLUMNS = ('x', 'seed', 'site', 'n_o', 'n_si', 'charge')
INTEGER_COLUMNS = ('seed', 'site', 'n_o', 'n_si')
UUID_COLUMNS = ('structure_uuid', 'spectrum_uuid', 'charge_uuid')


class DatasetFormatError(ValueError):
    """A table that does not have the dataset's shape, grid or values."""


def validate_table(arrays: dict[str, np.ndarray]) -> int:
    """Check names, shapes, grids and values of a dataset table; return the number of rows.

    :raises DatasetFormatError: naming the first problem found.
    """
    required = ('spectra', 'energy', 'rdf', 'r', *SCALAR_COLUMNS)
    missing = [name for name in required if name not in arrays]
    if missing:
        raise DatasetFormatError(f'missing arrays: {", ".join(missing)}')
    spectra = np.asarray(arrays['spectra'])
    if spectra.ndim != 2 or spectra.shape[1] != len(ML_GRID):
        raise DatasetFormatError(f'spectra must have shape (rows, {len(ML_GRID)}), got {spectra.shape}')
    n = spectra.shape[0]
    if n == 0:
        raise DatasetFormatError('the table has no rows')
    if np.asarray(arrays['rdf']).shape != (n, N_POINTS):
        raise DatasetFormatError(f'rdf must have shape ({n}, {N_POINTS}), got {np.asarray(arrays["rdf"]).shape}')
    for name in SCALAR_COLUMNS:
        if np.asarray(arrays[name]).shape != (n,):
            raise DatasetFormatError(f'{name} must have one value per row ({n}), got shape {np.asarray(arrays[name]).shape}')
    energy, r = np.asarray(arrays['energy'], float), np.asarray(arrays['r'], float)
    if energy.shape != ML_GRID.shape or not np.allclose(energy, ML_GRID, atol=1e-6):
        raise DatasetFormatError(f'energy must be the ML grid: {len(ML_GRID)} points from {ML_GRID[0]} to {ML_GRID[-1]} eV')
    if r.shape != R_GRID.shape or not np.allclose(r, R_GRID, atol=1e-6):
        raise DatasetFormatError(f'r must be the RDF grid: {N_POINTS} bin centres on 0-{R_MAX} A')
    for name in ('spectra', 'rdf', *SCALAR_COLUMNS):
        values = np.asarray(arrays[name], float)
        bad = np.flatnonzero(~np.isfinite(values).reshape(n, -1).all(axis=1))
        if bad.size:
            raise DatasetFormatError(f'{name} has NaN or infinite values in rows {bad[:10].tolist()}')
    x = np.asarray(arrays['x'], float)
    if (x < 0).any() or (x > 2).any():
        raise DatasetFormatError('x must lie in [0, 2]')
    for name in INTEGER_COLUMNS:
        values = np.asarray(arrays[name], float)
        if not np.array_equal(values, np.round(values)):
            raise DatasetFormatError(f'{name} must hold integers')
    return n


def write_npz(arrays: dict[str, np.ndarray], path: pathlib.Path) -> None:
    """All arrays (and UUID columns, if present) in one compressed ``.npz``."""
    validate_table(arrays)
    np.savez_compressed(path, **{name: np.asarray(value) for name, value in arrays.items()})


def write_csv(arrays: dict[str, np.ndarray], path: pathlib.Path) -> None:
    """One line per site: scalars, UUIDs, then the spectrum and the RDF on their fixed grids."""
    n = validate_table(arrays)
    uuids = [name for name in UUID_COLUMNS if name in arrays]
    header = [*SCALAR_COLUMNS, *uuids, *(f'spectrum_{i}' for i in range(len(ML_GRID))), *(f'rdf_{i}' for i in range(N_POINTS))]
    with open(path, 'w', newline='') as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in range(n):
            scalars = [int(arrays[c][row]) if c in INTEGER_COLUMNS else repr(float(arrays[c][row])) for c in SCALAR_COLUMNS]
            writer.writerow(
                [
                    *scalars,
                    *(str(arrays[c][row]) for c in uuids),
                    *(repr(float(v)) for v in arrays['spectra'][row]),
                    *(repr(float(v)) for v in arrays['rdf'][row]),
                ]
            )


def read_table(path: pathlib.Path) -> dict[str, np.ndarray]:
    """Read and validate a table written by :func:`write_npz` or :func:`write_csv` (or by a user in that format)."""
    path = pathlib.Path(path)
    if path.suffix == '.npz':
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    elif path.suffix == '.csv':
        arrays = _read_csv(path)
    else:
        raise DatasetFormatError(f'{path.name}: unknown format, expected .npz or .csv')
    validate_table(arrays)
    return arrays


def _read_csv(path: pathlib.Path) -> dict[str, np.ndarray]:
    with open(path, newline='') as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            raise DatasetFormatError(f'{path.name} is empty') from None
        lines = list(reader)
    expected = [f'spectrum_{i}' for i in range(len(ML_GRID))] + [f'rdf_{i}' for i in range(N_POINTS)]
    absent = [name for name in (*SCALAR_COLUMNS, *expected) if name not in header]
    if absent:
        raise DatasetFormatError(f'{path.name}: missing columns {", ".join(absent[:5])}{" ..." if len(absent) > 5 else ""}')
    for number, line in enumerate(lines, start=2):
        if len(line) != len(header):
            raise DatasetFormatError(f'{path.name} line {number}: {len(line)} fields, the header has {len(header)}')
    column = {name: i for i, name in enumerate(header)}

    def numbers(names: list[str]) -> np.ndarray:
        try:
            return np.array([[float(line[column[name]]) for name in names] for line in lines], float).reshape(len(lines), len(names))
        except ValueError as exception:
            raise DatasetFormatError(f'{path.name}: {exception}') from None

    arrays = {
        'spectra': numbers(expected[: len(ML_GRID)]),
        'rdf': numbers(expected[len(ML_GRID) :]),
        'energy': ML_GRID.copy(),
        'r': R_GRID.copy(),
    }
    scalars = numbers(list(SCALAR_COLUMNS))
    for i, name in enumerate(SCALAR_COLUMNS):
        arrays[name] = scalars[:, i]
    for name in UUID_COLUMNS:
        if name in column:
            arrays[name] = np.array([line[column[name]] for line in lines])
    for name in INTEGER_COLUMNS:
        if np.array_equal(arrays[name], np.round(arrays[name])):
            arrays[name] = arrays[name].astype(int)
    return arrays
