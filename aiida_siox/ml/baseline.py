"""The paper's linear baseline: Bader charge from three hand-made spectrum descriptors.

Descriptors, per spectrum on the ML grid (docs/ml.md shows them on a spectrum):

- white-line intensity ``I_wl``: the spectrum's maximum (the main absorption peak);
- edge position ``E_edge``: the first energy at which the spectrum reaches half of ``I_wl``
  (linear interpolation between grid points);
- integrated white-line intensity ``A_wl``: the integral of the spectrum from ``E_edge`` to
  ``E_peak + (E_peak - E_edge)``, i.e. over the rising edge and a window as wide on the far side of
  the peak, so that a broader white line with the same height counts as more intensity.
"""

from __future__ import annotations

import numpy as np

DESCRIPTORS = ('white_line_intensity', 'integrated_white_line', 'edge_position')


def spectrum_descriptors(energy: np.ndarray, spectra: np.ndarray) -> np.ndarray:
    """(n, 3) descriptors of ``spectra`` (n, points) on ``energy``, in the order of :data:`DESCRIPTORS`."""
    energy, spectra = np.asarray(energy, float), np.atleast_2d(np.asarray(spectra, float))
    rows = np.arange(len(spectra))
    peak_index = spectra.argmax(axis=1)
    white_line = spectra[rows, peak_index]
    level = 0.5 * white_line
    above = (spectra >= level[:, None]).argmax(axis=1)
    below = np.maximum(above - 1, 0)
    i0, i1 = spectra[rows, below], spectra[rows, above]
    fraction = np.where(i1 > i0, (level - i0) / np.where(i1 > i0, i1 - i0, 1.0), 0.0)
    edge = np.where(above > 0, energy[below] + fraction * (energy[above] - energy[below]), energy[0])
    peak_energy = energy[peak_index]
    end = peak_energy + (peak_energy - edge)
    step = np.gradient(energy)
    inside = (energy[None, :] >= edge[:, None]) & (energy[None, :] <= end[:, None])
    integrated = (spectra * inside * step[None, :]).sum(axis=1)
    return np.stack([white_line, integrated, edge], axis=1)


class LinearBaseline:
    """Least-squares linear regression (with intercept) on standardised descriptors."""

    def fit(self, features: np.ndarray, target: np.ndarray) -> LinearBaseline:
        self.mean = features.mean(axis=0)
        self.std = np.where(features.std(axis=0) > 0, features.std(axis=0), 1.0)
        design = np.column_stack([np.ones(len(features)), (features - self.mean) / self.std])
        self.coefficients, *_ = np.linalg.lstsq(design, target, rcond=None)
        return self

    def predict(self, features: np.ndarray) -> np.ndarray:
        design = np.column_stack([np.ones(len(features)), (features - self.mean) / self.std])
        return design @ self.coefficients
