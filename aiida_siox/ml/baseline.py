"""The paper's linear baseline: Bader charge from three hand-made spectrum descriptors.

Descriptors, per spectrum on the ML grid (docs/ml.md shows them on a spectrum):

- white-line intensity ``I_wl``: the spectrum's maximum (the main absorption peak);
- edge position ``E_edge``: the onset of :mod:`.edge` (half maximum of the first peak, the one
  definition the tests, benchmarks and report use too);
- integrated white-line intensity ``A_wl``: the integral of the spectrum from ``E_edge`` to
  ``E_peak + (E_peak - E_edge)``, i.e. over the rising edge and a window as wide on the far side of
  the peak, so that a broader white line with the same height counts as more intensity.
"""

from __future__ import annotations

import numpy as np

from .edge import onset_energy

DESCRIPTORS = ('white_line_intensity', 'integrated_white_line', 'edge_position')


def spectrum_descriptors(energy: np.ndarray, spectra: np.ndarray) -> np.ndarray:
    """(n, 3) descriptors of ``spectra`` (n, points) on ``energy``, in the order of :data:`DESCRIPTORS`."""
    energy, spectra = np.asarray(energy, float), np.atleast_2d(np.asarray(spectra, float))
    rows = np.arange(len(spectra))
    peak_index = spectra.argmax(axis=1)
    white_line = spectra[rows, peak_index]
    edge = np.array([onset_energy(energy, spectrum) for spectrum in spectra])
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
