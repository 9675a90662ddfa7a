"""Si K-edge spectra: isotropic average, transition-energy alignment, calibration, the ML energy grid.

Absolute energy of a point of a site's xspectra spectrum (docs/method.md, "Energy alignment"):

- ``fch`` (default, no extra SCF):  E = E_xspectra + E0 + [E_tot(FCH) - E_tot(ground)] + C
- ``xch`` (the paper's cross-check): E = E_xspectra + E0 - e_empty(FCH) + [E_tot(XCH) - E_tot(ground)] + C

E0 is xspectra's own energy zero (``xe0`` when set, else the level it prints as ``ef``), FCH the
full-core-hole cation SCF, XCH the neutral excited-state SCF (core hole + the electron in the
lowest empty level), e_empty(FCH) the first empty level of the FCH run, and C one constant for all
spectra, chosen so that alpha-quartz's main peak lands on 1846 eV.
"""

from __future__ import annotations

import numpy as np

from aiida_siox.analysis.scf_levels import OCCUPIED_FRACTION, first_empty_level, highest_occupied_level, occupation_cut_energy
from aiida_siox.ml.edge import onset_energy
from aiida_siox.ml.grid import ML_GRID, QUARTZ_MAIN_PEAK_EV

__all__ = [
    'ML_GRID',
    'OCCUPIED_FRACTION',
    'QUARTZ_MAIN_PEAK_EV',
    'first_empty_level',
    'highest_occupied_level',
    'occupation_cut_energy',
    'onset_energy',
]

#: The two forms of the per-site alignment (module docstring).
ALIGNMENT_FORMS = ('fch', 'xch')
#: Onset spikes: a peak narrower than this (FWHM, eV) within :data:`SPIKE_WINDOW_EV` of the onset.
SPIKE_MAX_FWHM_EV = 0.5
SPIKE_WINDOW_EV = 3.0


def isotropic_spectrum(polarisations: list[np.ndarray]) -> np.ndarray:
    """Powder (isotropic) spectrum: the mean of the x, y, z dipole polarisations on one grid."""
    stack = np.vstack([np.asarray(p, float) for p in polarisations])
    if stack.shape[0] != 3:
        raise ValueError(f'expected the 3 dipole polarisations x, y, z, got {stack.shape[0]}')
    return stack.mean(axis=0)


def xspectra_energy_zero(input_namelist: dict, output_parameters: dict) -> float:
    """xspectra's energy zero E0 (eV): the ``xe0`` the site job set between pw.x and xspectra.x (``xe0`` of
    the job's xspectra output: what xspectra.x ran with), else the ``xe0`` its INPUT_XSPECTRA namelist set,
    else the zero it printed.

    xspectra prints 'energy-zero of the spectrum [eV]' (aiida-qe-xspec: ``energy_zero``), the same
    value as its ``ef`` line (``fermi_energy``): NOT pw.x's Fermi energy. With ``xe0`` set it prints
    ``ef`` all the same, so ``ef`` is never the zero then.
    """
    for value in (output_parameters.get('xe0'), input_namelist.get('xe0')):
        if value is not None:
            return float(value)
    for key in ('energy_zero', 'fermi_energy'):
        if output_parameters.get(key) is not None:
            return float(output_parameters[key])
    raise ValueError('the xspectra output holds no energy zero (energy_zero / fermi_energy)')


def fch_shift(energy_zero_ev: float, total_energy_core_hole_ev: float, total_energy_ground_ev: float) -> float:
    """E - E_xspectra without C in the ``fch`` form: E0 + [E_tot(FCH) - E_tot(ground)] (eV)."""
    return float(energy_zero_ev + total_energy_core_hole_ev - total_energy_ground_ev)


def xch_shift(energy_zero_ev: float, first_empty_level_ev: float, total_energy_excited_ev: float, total_energy_ground_ev: float) -> float:
    """E - E_xspectra without C in the ``xch`` form: the FCH run's first empty level on E_tot(XCH) - E_tot(ground).

    Placing xspectra's zero there instead would be wrong for insulators (quartz's zero is its
    valence-band top, ~5 eV below the first empty level).
    """
    return float(energy_zero_ev - first_empty_level_ev + total_energy_excited_ev - total_energy_ground_ev)


def main_peak_energy(energy: np.ndarray, intensity: np.ndarray, window: tuple[float, float] | None = None) -> float:
    """Energy of the most intense point (optionally within ``window``), refined by a parabola."""
    energy = np.asarray(energy, float)
    intensity = np.asarray(intensity, float)
    mask = np.isfinite(intensity) if window is None else np.isfinite(intensity) & (energy >= window[0]) & (energy <= window[1])
    idx = np.flatnonzero(mask)[np.argmax(intensity[mask])]
    if 0 < idx < len(energy) - 1:
        y0, y1, y2 = intensity[idx - 1 : idx + 2]
        denom = y0 - 2 * y1 + y2
        if denom != 0 and np.isfinite(denom):
            step = energy[idx + 1] - energy[idx]
            return float(energy[idx] + 0.5 * step * (y0 - y2) / denom)
    return float(energy[idx])


def calibration_constant(quartz_peak_without_c_ev: float, target_ev: float = QUARTZ_MAIN_PEAK_EV) -> float:
    """Constant C that puts alpha-quartz's main peak (E_xspectra + shift, before C) on ``target_ev``."""
    return float(target_ev - quartz_peak_without_c_ev)


def align_spectrum(
    energy: np.ndarray,
    intensity: np.ndarray,
    shift_ev: float,
    calibration_ev: float,
    grid: np.ndarray = ML_GRID,
) -> tuple[np.ndarray, tuple[float, float]]:
    """(spectrum on ``grid`` at absolute energy, the absolute energy range the computation covers).

    E = E_xspectra + shift + C. Points of ``grid`` outside the computed range are NaN, never 0: a
    site whose range does not cover the grid is flagged (:func:`covers`), not silently padded.
    """
    shifted = np.asarray(energy, float) + shift_ev + calibration_ev
    aligned = np.interp(grid, shifted, np.asarray(intensity, float), left=np.nan, right=np.nan)
    return aligned, (float(shifted.min()), float(shifted.max()))


def covers(energy_range: tuple[float, float], grid: np.ndarray = ML_GRID) -> bool:
    """Whether a computed absolute energy range spans the whole ``grid``."""
    return bool(energy_range[0] <= grid[0] + 1e-9 and energy_range[1] >= grid[-1] - 1e-9)


def onset_spikes(energy: np.ndarray, intensity: np.ndarray) -> list[tuple[float, float]]:
    """Narrow peaks at the onset: (energy, FWHM) of every peak narrower than 0.5 eV within 3 eV of it.

    The Lorentzian broadening alone is 0.8 eV wide, so such a peak is an artefact (a cut through a
    level at xspectra's energy zero), not physics. Width is measured at half prominence, so a spike
    sitting on the rising edge counts by its own height. Peaks below 5 % of the maximum are noise.
    """
    from scipy.signal import find_peaks, peak_widths

    energy, intensity = np.asarray(energy, float), np.asarray(intensity, float)
    finite = np.isfinite(intensity)
    energy, intensity = energy[finite], intensity[finite]
    onset = onset_energy(energy, intensity)
    peaks, _ = find_peaks(intensity, prominence=0.05 * intensity.max())
    if not len(peaks):
        return []
    widths = peak_widths(intensity, peaks, rel_height=0.5)[0] * np.gradient(energy)[peaks]
    return [
        (float(energy[p]), float(w))
        for p, w in zip(peaks, widths, strict=True)
        if w < SPIKE_MAX_FWHM_EV and abs(energy[p] - onset) <= SPIKE_WINDOW_EV
    ]
