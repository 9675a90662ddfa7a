"""The onset (edge position) of a Si K-edge spectrum: one definition for the whole package.

Used by the alignment checks, the tests, the benchmarks, the demo report and the linear baseline's
``edge_position`` descriptor. It lives in ``ml/`` (numpy only, no other import of this package)
because the training job ships ``ml/`` alone to the compute node.

Definition: the *first rise* starts where the spectrum first reaches ``start_fraction`` of its
global maximum; the *first peak* is the maximum within ``window_ev`` above that point; the onset is
the first energy at which the spectrum reaches half of that first peak (linear interpolation
between grid points). The half maximum of the *global* maximum would jump to a later feature
whenever one is higher than the edge peak (c-Si's first peak is weaker than its 1850 eV features).
"""

from __future__ import annotations

import numpy as np

#: Start of the first rise, as a fraction of the global maximum (above numerical noise).
START_FRACTION = 0.1
#: Width of the window above the start of the rise in which the first peak is looked for (eV).
PEAK_WINDOW_EV = 15.0


def first_peak(energy: np.ndarray, intensity: np.ndarray, window_ev: float = PEAK_WINDOW_EV) -> tuple[int, int]:
    """(index where the first rise starts, index of the first peak) of one spectrum."""
    energy, intensity = np.asarray(energy, float), np.asarray(intensity, float)
    if energy.ndim != 1 or energy.shape != intensity.shape or len(energy) < 3:
        raise ValueError('a spectrum needs matching 1-D energy and intensity arrays of at least 3 points')
    top = intensity.max()
    if not np.isfinite(top) or top <= 0:
        raise ValueError('the spectrum has no positive, finite intensity: no onset')
    start = int(np.argmax(intensity >= START_FRACTION * top))
    inside = np.flatnonzero((energy >= energy[start]) & (energy <= energy[start] + window_ev))
    return start, int(inside[np.argmax(intensity[inside])])


def onset_energy(energy: np.ndarray, intensity: np.ndarray, window_ev: float = PEAK_WINDOW_EV) -> float:
    """Onset: the energy at which the spectrum first reaches half of its first peak (eV)."""
    energy, intensity = np.asarray(energy, float), np.asarray(intensity, float)
    _, peak = first_peak(energy, intensity, window_ev)
    level = 0.5 * intensity[peak]
    above = int(np.argmax(intensity[: peak + 1] >= level))
    if above == 0:
        return float(energy[0])
    e0, e1, i0, i1 = energy[above - 1], energy[above], intensity[above - 1], intensity[above]
    return float(e0 + (level - i0) * (e1 - e0) / (i1 - i0))
