"""Si K-edge spectra: isotropic average, Delta-SCF + calibration alignment, the ML energy grid."""

from __future__ import annotations

import numpy as np

RY_TO_EV = 13.605693122994
#: The ML input grid of the paper: 1830-1880 eV, 256 points.
ML_GRID = np.linspace(1830.0, 1880.0, 256)
#: Experimental main peak of alpha-quartz (paper Fig. S1).
QUARTZ_MAIN_PEAK_EV = 1846.0


def isotropic_spectrum(polarisations: list[np.ndarray]) -> np.ndarray:
    """Powder (isotropic) spectrum: the mean of the x, y, z dipole polarisations on one grid."""
    stack = np.vstack([np.asarray(p, float) for p in polarisations])
    if stack.shape[0] != 3:
        raise ValueError(f'expected the 3 dipole polarisations x, y, z, got {stack.shape[0]}')
    return stack.mean(axis=0)


def delta_scf_shift(total_energy_core_hole_ev: float, total_energy_ground_ev: float) -> float:
    """Per-site transition-energy correction: E_total(core hole) - E_total(ground), in eV."""
    return float(total_energy_core_hole_ev - total_energy_ground_ev)


def main_peak_energy(energy: np.ndarray, intensity: np.ndarray, window: tuple[float, float] | None = None) -> float:
    """Energy of the most intense point (optionally within ``window``), refined by a parabola."""
    energy = np.asarray(energy, float)
    intensity = np.asarray(intensity, float)
    mask = np.ones_like(energy, bool) if window is None else (energy >= window[0]) & (energy <= window[1])
    idx = np.flatnonzero(mask)[np.argmax(intensity[mask])]
    if 0 < idx < len(energy) - 1:
        y0, y1, y2 = intensity[idx - 1 : idx + 2]
        denom = y0 - 2 * y1 + y2
        if denom != 0:
            step = energy[idx + 1] - energy[idx]
            return float(energy[idx] + 0.5 * step * (y0 - y2) / denom)
    return float(energy[idx])


def calibration_constant(quartz_peak_relative_ev: float, target_ev: float = QUARTZ_MAIN_PEAK_EV) -> float:
    """Constant C that puts alpha-quartz's main peak (already Delta-SCF-shifted) on ``target_ev``."""
    return float(target_ev - quartz_peak_relative_ev)


def align_spectrum(
    energy: np.ndarray,
    intensity: np.ndarray,
    delta_scf_ev: float,
    calibration_ev: float,
    grid: np.ndarray = ML_GRID,
) -> np.ndarray:
    """Shift a raw xspectra spectrum to absolute energy and resample it on ``grid``.

    E = E_xspectra + (E_total(core hole) - E_total(ground)) + C. Points of ``grid`` outside the
    computed range are 0 (below the edge there is no absorption; above, the spectrum was cut).
    """
    shifted = np.asarray(energy, float) + delta_scf_ev + calibration_ev
    return np.interp(grid, shifted, np.asarray(intensity, float), left=0.0, right=0.0)


def edge_energy(energy: np.ndarray, intensity: np.ndarray, fraction: float = 0.5) -> float:
    """Edge position: the first energy at which the spectrum reaches ``fraction`` of its maximum.

    Linear interpolation between grid points; the half-maximum rise is a robust edge marker for
    broadened, unnormalised spectra (the inflection point is noisy on a coarse grid).
    """
    energy, intensity = np.asarray(energy, float), np.asarray(intensity, float)
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f'fraction must lie in (0, 1], got {fraction}')
    level = fraction * intensity.max()
    above = int(np.argmax(intensity >= level))
    if above == 0:
        return float(energy[0])
    e0, e1, i0, i1 = energy[above - 1], energy[above], intensity[above - 1], intensity[above]
    return float(e0 + (level - i0) * (e1 - e0) / (i1 - i0))
