"""Occupied and empty levels of an SCF, and xspectra's energy zero midway in the gap (``xe0``).

Self-contained (numpy and the standard library only): the site job (``CoreHoleXspectraCalculation``)
ships this file and runs it between pw.x and xspectra.x, as

    python scf_levels.py out/aiida.save/data-file-schema.xml xe0.json aiida_x.in aiida_y.in aiida_z.in

which reads the core-hole SCF's levels from pw.x's XML, writes ``xe0`` into each xspectra input and
the levels it used into ``xe0.json`` (the parser records them).
"""

from __future__ import annotations

import json
import pathlib
import sys
import xml.etree.ElementTree as ElementTree

import numpy as np

#: A level counts as occupied when it holds at least this fraction of a full occupation.
OCCUPIED_FRACTION = 0.5
#: Hartree in eV as aiida-quantumespresso converts pw.x's XML (qe-tools' CONSTANTS.hartree_to_ev): the
#: same levels as the job's ``output_band``, to the last digit.
HARTREE_TO_EV = 27.2113834506


def _levels(eigenvalues: np.ndarray, occupations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flattened levels and occupations as fractions of a full level (pw.x gives 2 per band unpolarised)."""
    levels, occupations = np.asarray(eigenvalues, float).ravel(), np.asarray(occupations, float).ravel()
    if levels.shape != occupations.shape or not len(levels):
        raise ValueError('eigenvalues and occupations must have the same, non-zero size')
    full = 2.0 if occupations.max() > 1.0 + 1e-6 else 1.0
    return levels, occupations / full


def highest_occupied_level(eigenvalues: np.ndarray, occupations: np.ndarray) -> float:
    """The highest level holding at least half a full occupation (eV): the valence-band top of an insulator."""
    levels, fraction = _levels(eigenvalues, occupations)
    occupied = levels[fraction >= OCCUPIED_FRACTION]
    if not len(occupied):
        raise ValueError('no occupied level')
    return float(occupied.max())


def first_empty_level(eigenvalues: np.ndarray, occupations: np.ndarray) -> float:
    """The lowest level holding less than half a full occupation (eV): the FCH run's core-exciton level."""
    levels, fraction = _levels(eigenvalues, occupations)
    empty = levels[fraction < OCCUPIED_FRACTION]
    if not len(empty):
        raise ValueError('no empty level: the SCF needs more bands (nbnd) for the excited-state alignment')
    return float(empty.min())


def occupation_cut_energy(eigenvalues: np.ndarray, occupations: np.ndarray) -> float:
    """Where xspectra should cut the occupied states (its ``xe0``): midway between the highest occupied
    and the first empty level (eV).

    xspectra's default zero is the highest level with occupation > 0.001: under Gaussian smearing
    that is c-Si's core-exciton level, and a cut through a level (a pole of the continued fraction)
    leaves a narrow spike at the onset (measured: 0.1 eV wide). Midway, no level sits at the cut in
    an insulator; in a metal both levels are at the Fermi energy.
    """
    return 0.5 * (highest_occupied_level(eigenvalues, occupations) + first_empty_level(eigenvalues, occupations))


def read_pw_levels(xml_text: str) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (eV) and occupations (fractions of a level) of every k-point and band in pw.x's XML."""
    root = ElementTree.fromstring(xml_text)
    eigenvalues, occupations = [], []
    for point in root.iter('ks_energies'):
        eigenvalues.append([float(v) for v in point.find('eigenvalues').text.split()])
        occupations.append([float(v) for v in point.find('occupations').text.split()])
    if not eigenvalues:
        raise ValueError('no <ks_energies> in the XML: not the output of a finished pw.x run')
    return HARTREE_TO_EV * np.array(eigenvalues), np.array(occupations)


def with_energy_zero(xspectra_input: str, xe0: float) -> str:
    """An xspectra input with ``xe0`` set in its INPUT_XSPECTRA namelist (any earlier value replaced)."""
    lines = [line for line in xspectra_input.splitlines() if line.split('=')[0].strip().lower() != 'xe0']
    start = next((i for i, line in enumerate(lines) if line.strip().lower() == '&input_xspectra'), None)
    if start is None:
        raise ValueError('the xspectra input has no &INPUT_XSPECTRA namelist')
    lines.insert(start + 1, f'  xe0 = {xe0!r}')
    return '\n'.join(lines) + '\n'


def main(argv: list[str]) -> None:
    """``scf_levels.py XML RECORD INPUT...``: set xe0 mid-gap in each xspectra input, record the levels."""
    xml, record, *inputs = (pathlib.Path(arg) for arg in argv)
    eigenvalues, occupations = read_pw_levels(xml.read_text())
    levels = {
        'xe0': occupation_cut_energy(eigenvalues, occupations),
        'highest_occupied_level': highest_occupied_level(eigenvalues, occupations),
        'first_empty_level': first_empty_level(eigenvalues, occupations),
    }
    for path in inputs:
        path.write_text(with_energy_zero(path.read_text(), levels['xe0']))
    record.write_text(json.dumps(levels))


if __name__ == '__main__':
    main(sys.argv[1:])
