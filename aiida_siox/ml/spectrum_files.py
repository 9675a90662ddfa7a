"""Spectrum files: two-column text or CSV, and XDI read by its column labels (numpy only).

Plain text or CSV with two numeric columns, energy and intensity; lines starting with ``#`` are
comments and one header line of column names is allowed. XDI files are read by their
``# Column.N: name`` labels, not by position: the energy column, then the first of the absorption
columns (normalised mu, mu in transmission or fluorescence), or mu computed from the raw
intensities (ln(i0/itrans), ifluor/i0) when only those are there.
"""

from __future__ import annotations

import pathlib

import numpy as np

from .errors import SpectrumInputError


def read_spectrum_file(path: str | pathlib.Path) -> tuple[np.ndarray, np.ndarray]:
    """(energy, intensity) from a two-column text, CSV or XDI file, as written.

    :raises SpectrumInputError: naming the file and the line at fault.
    """
    energy, intensity, _ = read_spectrum_table(path)
    return energy, intensity


def read_spectrum_table(path: str | pathlib.Path) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """(energy, intensity, file line of each point) from a two-column text, CSV or XDI file."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise SpectrumInputError(f'{path}: no such file')
    rows, numbers, header_seen = [], [], False
    lines = path.read_text(errors='replace').splitlines()
    labels = xdi_column_labels(lines)
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith('#'):
            continue
        fields = [f for f in text.replace(',', ' ').replace(';', ' ').split() if f]
        try:
            values = [float(f) for f in fields]
        except ValueError:
            if not rows and not header_seen and not any(_is_number(f) for f in fields):
                header_seen = True  # one header line of column names
                continue
            raise SpectrumInputError(f'{path.name} line {number}: not numbers: {text[:60]!r}') from None
        if len(values) < max(2, len(labels)):
            expected = f'{len(labels)} columns (its Column labels)' if labels else '2 columns (energy, intensity)'
            raise SpectrumInputError(f'{path.name} line {number}: expected {expected}, got {len(values)}')
        rows.append(values)
        numbers.append(number)
    if len(rows) < 2:
        raise SpectrumInputError(f'{path.name}: fewer than 2 data lines')
    width = min(len(row) for row in rows)
    data = np.array([row[:width] for row in rows], float)
    if labels:
        return (*xdi_energy_and_mu(data, labels, path.name), numbers)
    return data[:, 0], data[:, 1], numbers


#: XDI column names holding an absorption spectrum, in order of preference (XDI specification, "Column").
XDI_MU_COLUMNS = ('norm', 'normtrans', 'normfluor', 'mutrans', 'mufluor', 'mu', 'xmu', 'murefer')


def xdi_column_labels(lines: list[str]) -> dict[str, int]:
    """``{name: 0-based column}`` from the ``# Column.N: name [units]`` lines of an XDI header (empty if none)."""
    labels = {}
    for line in lines:
        text = line.strip()
        if not text.startswith('#'):
            continue
        key, _, value = text.lstrip('#').partition(':')
        key = key.strip().lower()
        if key.startswith('column.') and key[7:].isdigit() and value.split():
            labels[value.split()[0].lower()] = int(key[7:]) - 1
    return labels


def xdi_energy_and_mu(data: np.ndarray, labels: dict[str, int], name: str) -> tuple[np.ndarray, np.ndarray]:
    """Energy and absorption from an XDI table by its column labels."""
    if 'energy' not in labels:
        raise SpectrumInputError(f'{name}: its XDI Column labels {sorted(labels)} have no `energy` column')
    energy = data[:, labels['energy']]
    for column in XDI_MU_COLUMNS:
        if column in labels:
            return energy, data[:, labels[column]]
    if 'i0' in labels and 'itrans' in labels:
        with np.errstate(divide='ignore', invalid='ignore'):
            return energy, np.log(data[:, labels['i0']] / data[:, labels['itrans']])
    if 'i0' in labels and 'ifluor' in labels:
        with np.errstate(divide='ignore', invalid='ignore'):
            return energy, data[:, labels['ifluor']] / data[:, labels['i0']]
    raise SpectrumInputError(
        f'{name}: no absorption column among its XDI Column labels {sorted(labels)} '
        f'(expected one of {list(XDI_MU_COLUMNS)}, or i0 with itrans or ifluor)'
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
