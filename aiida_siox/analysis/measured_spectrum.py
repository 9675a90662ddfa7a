"""A user's measured Si K-edge spectrum made fit for the models: units, order, sanity, energy calibration.

Pure numpy, applied before anything is stored: a file that fails here never becomes a node.

- Energies below 100 are read as keV (the Si K edge is at ~1.84 keV) and converted to eV.
- Descending energies are sorted; a repeated energy is an error (which of the two is meant?).
- NaN or infinite values, fewer than 20 points, an intensity that is zero or negative everywhere,
  or negative values below -10 % of the maximum (a sign flip or a bad background subtraction) are
  errors; small negative noise in the pre-edge is kept.
- Energy calibration: a measured spectrum carries the instrument's energy offset. Either the user
  gives the shift, or a reference spectrum of alpha-quartz (SiO2) measured with the same instrument
  gives it: its main peak is put on 1846 eV (the value the computed spectra are calibrated to) and
  the same shift is applied to the sample.
"""

from __future__ import annotations

import pathlib

import numpy as np

from aiida_siox.ml.errors import SpectrumInputError
from aiida_siox.ml.grid import QUARTZ_MAIN_PEAK_EV
from aiida_siox.ml.spectrum_files import read_spectrum_table

__all__ = ['SpectrumInputError', 'check_measured_spectrum', 'main_peak_energy', 'read_measured_spectrum', 'reference_shift']

#: Fewer points than this cannot describe an edge and its main peak.
MIN_POINTS = 20
#: Energies all below this are keV (Si K edge ~1.84 keV; no Si K-edge spectrum is given in eV below it).
KEV_BELOW = 100.0
#: Negative intensities deeper than this fraction of the maximum are refused.
NEGATIVE_FRACTION = 0.1


def check_measured_spectrum(
    energy: np.ndarray, intensity: np.ndarray, name: str = 'spectrum', lines: list[int] | None = None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(energy in eV ascending, intensity, notes on what was changed), or a one-line error.

    :param name: the file's name, for the messages.
    :param lines: the file line of each point, for the messages (point indices when not given).
    :raises SpectrumInputError: naming the file, the line where one is at fault, and the fix.
    """
    energy, intensity = np.asarray(energy, float), np.asarray(intensity, float)
    where = np.asarray(lines if lines is not None else np.arange(len(energy)), int)
    unit = 'line' if lines is not None else 'point'
    notes: list[str] = []
    bad = ~(np.isfinite(energy) & np.isfinite(intensity))
    if bad.any():
        raise SpectrumInputError(f'{name} {unit} {where[bad][0]}: NaN or infinite value; remove or fill the point')
    if len(energy) < MIN_POINTS:
        raise SpectrumInputError(f'{name}: {len(energy)} points; at least {MIN_POINTS} are needed over the edge')
    if energy.max() < KEV_BELOW:
        energy = energy * 1000.0
        notes.append('energies read as keV and converted to eV')
    if np.any(np.diff(energy) < 0):
        order = np.argsort(energy, kind='stable')
        energy, intensity, where = energy[order], intensity[order], where[order]
        notes.append('energies sorted ascending')
    repeated = np.flatnonzero(np.diff(energy) == 0)
    if repeated.size:
        first = repeated[0]
        raise SpectrumInputError(
            f'{name} {unit}s {where[first]} and {where[first + 1]}: the same energy {energy[first]:.4f} eV twice; keep one'
        )
    peak = intensity.max()
    if peak <= 0:
        raise SpectrumInputError(f'{name}: the intensity is zero or negative everywhere; is this the right column?')
    deepest = int(np.argmin(intensity))
    if intensity[deepest] < -NEGATIVE_FRACTION * peak:
        raise SpectrumInputError(
            f'{name} {unit} {where[deepest]}: intensity {intensity[deepest]:.4g}, below -{NEGATIVE_FRACTION:.0%} of the '
            'maximum; check the sign and the background subtraction'
        )
    return energy, intensity, notes


def main_peak_energy(energy: np.ndarray, intensity: np.ndarray) -> float:
    """Energy of the highest point of a spectrum, refined by a parabola through it and its two neighbours."""
    energy, intensity = np.asarray(energy, float), np.asarray(intensity, float)
    top = int(np.clip(np.argmax(intensity), 1, len(energy) - 2))
    e, y = energy[top - 1 : top + 2], intensity[top - 1 : top + 2]
    a, b, _ = np.polyfit(e - e[1], y, 2)
    if a >= 0:  # flat or no maximum in the three points: the sampled maximum
        return float(energy[top])
    return float(np.clip(e[1] - b / (2 * a), e[0], e[2]))


def reference_shift(energy: np.ndarray, intensity: np.ndarray, target_ev: float = QUARTZ_MAIN_PEAK_EV) -> float:
    """The energy shift (eV, added to the sample's energies) that puts a quartz reference's main peak on ``target_ev``."""
    return float(target_ev - main_peak_energy(energy, intensity))


def read_measured_spectrum(path: str | pathlib.Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(energy in eV ascending, intensity, notes on what was changed) of a user's spectrum file, checked.

    The checks (:func:`check_measured_spectrum`) name the file's line.
    """
    energy, intensity, lines = read_spectrum_table(path)
    return check_measured_spectrum(energy, intensity, pathlib.Path(path).name, lines)
