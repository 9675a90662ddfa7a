"""Edge-step normalisation of an absorption spectrum, as XAS practice does it (Athena/Larch ``pre_edge``).

mu(E) is made independent of the sample's thickness, the detector and the intensity unit: a line
fitted to the pre-edge is subtracted, and the result divided by the edge step, the height at E0 of
the post-edge curve above the pre-edge line. After it, the pre-edge is ~0 and the post-edge ~1,
for a computed spectrum as for a measured one, so one model reads both.

This follows Larch's ``pre_edge`` (xraylarch, ``larch.xafs.pre_edge``: E0 at the largest
derivative, pre-edge line over [pre1, pre2] below E0, post-edge polynomial over [norm1, norm2]
above it, of degree 0 for a range below 50 eV as Larch chooses). Larch itself is not a dependency:
its wheel pulls silx, pyFAI, scikit-image, scikit-learn, h5py and mkl_fft and needs numpy >= 2.2,
for these few lines. The ranges are scaled to the ML window (1830-1880 eV), which holds less
pre-edge and post-edge than a measured scan; ``tests/test_edge_step.py`` checks that a spectrum with a
known step, background and scale comes out with pre-edge 0 and post-edge 1, whatever its scale.
It lives in ``ml/`` because the training job, which runs this package alone on a compute node
(no AiiDA, no aiida_siox), normalises its training spectra with it.
"""

from __future__ import annotations

import numpy as np

#: Pre-edge fit range, eV relative to E0: from the start of the data to 4 eV below E0 (the window holds
#: only ~9 eV below the c-Si edge, so the range is shorter than a measured scan's).
PRE_EDGE = (-np.inf, -4.0)
#: Post-edge fit range, eV relative to E0: from 8 eV above E0 to the end (Larch's usual norm1 of 50-150 eV
#: lies beyond the ML window).
POST_EDGE = (8.0, np.inf)
#: Fewest points a fit range must hold; short ranges fall back to the first / last points of the data.
MIN_FIT_POINTS = 4


def edge_energy(energy: np.ndarray, mu: np.ndarray) -> float:
    """E0: the energy of the largest derivative of mu (after a 3-point smoothing, as Larch's ``find_e0``)."""
    energy, mu = np.asarray(energy, float), np.asarray(mu, float)
    smooth = np.convolve(mu, np.ones(3) / 3.0, mode='same')
    smooth[0], smooth[-1] = mu[0], mu[-1]
    derivative = np.gradient(smooth, energy)
    inner = slice(2, len(energy) - 2)  # the ends of a finite-difference derivative are unreliable
    return float(energy[inner][np.argmax(derivative[inner])])


def _fit_range(energy: np.ndarray, low: float, high: float, fallback: slice) -> np.ndarray:
    inside = (energy >= low) & (energy <= high)
    if inside.sum() >= MIN_FIT_POINTS:
        return inside
    mask = np.zeros(energy.shape, bool)
    mask[fallback] = True
    return mask


def edge_step_normalise(energy: np.ndarray, mu: np.ndarray, e0: float | None = None) -> tuple[np.ndarray, dict]:
    """(normalised mu, {'e0', 'edge_step', 'pre_edge_line'}) of one spectrum.

    :raises ValueError: when the spectrum has no edge step (post-edge not above the pre-edge line).
    """
    energy, mu = np.asarray(energy, float), np.asarray(mu, float)
    e0 = edge_energy(energy, mu) if e0 is None else float(e0)
    pre = _fit_range(energy, e0 + PRE_EDGE[0], e0 + PRE_EDGE[1], slice(0, MIN_FIT_POINTS))
    slope, intercept = np.polyfit(energy[pre], mu[pre], 1) if pre.sum() > 1 else (0.0, float(mu[pre].mean()))
    post = _fit_range(energy, e0 + POST_EDGE[0], e0 + POST_EDGE[1], slice(-MIN_FIT_POINTS, None))
    post_level = float(mu[post].mean())  # degree 0: the window's post-edge is short (Larch: nnorm 0 below 50 eV)
    step = post_level - (slope * e0 + intercept)
    if not step > 0:
        raise ValueError(f'no edge step: the post-edge ({post_level:.4g}) is not above the pre-edge line at E0 = {e0:.2f} eV')
    normalised = (mu - (slope * energy + intercept)) / step
    return normalised, {'e0': e0, 'edge_step': float(step), 'pre_edge_line': [float(slope), float(intercept)]}
