"""What a spectrum goes through before a network sees it: resampling, normalisation, augmentation.

The networks read 256 intensities on the ML grid (1830-1880 eV). Computed spectra arrive on that
grid already; a measured spectrum must be resampled onto it and scaled the way the training set
was. Augmentation (random energy shift, Gaussian broadening, noise) at training time makes a model
less sensitive to the calibration and resolution differences between experiment and calculation.
"""

from __future__ import annotations

import numpy as np
import torch

from .edge_step import edge_step_normalise
from .errors import SpectrumInputError
from .grid import ML_GRID

__all__ = ['SpectrumInputError', 'augment', 'normalisation_scale', 'normalise', 'resample_to_grid']

NORMALISATIONS = ('global', 'max', 'area', 'edge')


def resample_to_grid(energy: np.ndarray, intensity: np.ndarray, grid: np.ndarray = ML_GRID) -> np.ndarray:
    """Linear interpolation of a spectrum onto ``grid``; its energies must cover the grid.

    :raises SpectrumInputError: naming the problem (NaN, fewer than 2 points, range not covering the grid).
    """
    energy, intensity = np.asarray(energy, float), np.asarray(intensity, float)
    if energy.ndim != 1 or energy.shape != intensity.shape:
        raise SpectrumInputError(f'energy and intensity must be 1-D of one length, got {energy.shape} and {intensity.shape}')
    if len(energy) < 2:
        raise SpectrumInputError(f'a spectrum needs at least 2 points, got {len(energy)}')
    if not (np.isfinite(energy).all() and np.isfinite(intensity).all()):
        bad = np.flatnonzero(~(np.isfinite(energy) & np.isfinite(intensity)))
        raise SpectrumInputError(f'NaN or infinite values at points {bad[:10].tolist()}')
    order = np.argsort(energy, kind='stable')
    energy, intensity = energy[order], intensity[order]
    if np.any(np.diff(energy) == 0):
        raise SpectrumInputError('repeated energy values')
    tolerance = 1e-6 * (grid[-1] - grid[0])
    if energy[0] > grid[0] + tolerance or energy[-1] < grid[-1] - tolerance:
        raise SpectrumInputError(
            f'the spectrum covers {energy[0]:.2f}-{energy[-1]:.2f} eV; the model needs {grid[0]:.2f}-{grid[-1]:.2f} eV'
        )
    return np.interp(grid, energy, intensity)


def normalisation_scale(spectra: np.ndarray, mode: str) -> float | None:
    """The one constant of ``global`` normalisation (the training set's maximum); None otherwise."""
    if mode not in NORMALISATIONS:
        raise ValueError(f'unknown normalisation {mode!r}; known: {", ".join(NORMALISATIONS)}')
    if mode != 'global':
        return None
    return float(np.abs(spectra).max()) or 1.0


def normalise(spectra: np.ndarray, mode: str, scale: float | None = None, energy: np.ndarray = ML_GRID) -> np.ndarray:
    """Scale spectra for the network.

    ``global``: divide all by one constant (computed spectra share absolute units; the paper's
    setting). ``max``: each spectrum by its own maximum; ``area``: each by its mean intensity on
    the grid; ``edge``: each by its edge step after subtracting its pre-edge line
    (:mod:`aiida_siox.ml.edge_step`, as XAS practice normalises measured spectra). The last
    three are for models meant for measured spectra, whose units are arbitrary.

    :param energy: the grid of the spectra (``edge`` only).
    """
    spectra = np.asarray(spectra, np.float32)
    if mode == 'edge':
        rows = []
        for row in np.atleast_2d(spectra):
            try:
                rows.append(edge_step_normalise(energy, row)[0])
            except ValueError as exception:
                raise SpectrumInputError(f'cannot apply edge-step normalisation: {exception}') from None
        return np.asarray(rows, np.float32).reshape(spectra.shape)
    if mode == 'global':
        if scale is None:
            raise ValueError('global normalisation needs the scale of the training set')
        return spectra / np.float32(scale)
    if mode == 'max':
        peak = np.abs(spectra).max(axis=-1, keepdims=True)
    elif mode == 'area':
        peak = np.abs(spectra).mean(axis=-1, keepdims=True)
    else:
        raise ValueError(f'unknown normalisation {mode!r}; known: {", ".join(NORMALISATIONS)}')
    if np.any(peak == 0):
        raise SpectrumInputError(f'a spectrum is zero everywhere on the grid: cannot apply {mode!r} normalisation')
    return spectra / peak


def shift_spectra(x: torch.Tensor, shift_points: torch.Tensor) -> torch.Tensor:
    """Shift each spectrum (rows of ``x``) by a fractional number of grid points (linear interpolation).

    A positive shift moves features to higher energy; points shifted in from outside the grid copy
    the edge value (flat continuation).
    """
    n = x.shape[-1]
    source = torch.arange(n, device=x.device, dtype=x.dtype) - shift_points.to(x.dtype).unsqueeze(-1)
    source = source.clamp(0, n - 1)
    low = source.floor().long().clamp(max=n - 2)
    weight = source - low.to(x.dtype)
    return torch.gather(x, -1, low) * (1 - weight) + torch.gather(x, -1, low + 1) * weight


def broaden_spectra(x: torch.Tensor, sigma_points: torch.Tensor) -> torch.Tensor:
    """Gaussian broadening of each row of ``x`` by its own width (in grid points; 0 = unchanged)."""
    half = int(max(1, float(sigma_points.max()) * 3 + 1))
    offsets = torch.arange(-half, half + 1, device=x.device, dtype=x.dtype)
    sigma = sigma_points.to(x.dtype).clamp(min=1e-3).unsqueeze(-1)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = kernel / kernel.sum(-1, keepdim=True)
    padded = torch.nn.functional.pad(x.reshape(1, -1, x.shape[-1]), (half, half), mode='replicate')
    out = torch.nn.functional.conv1d(padded, kernel.reshape(-1, 1, kernel.shape[-1]), groups=kernel.shape[0])
    return out.reshape(x.shape)


def augment(
    x: torch.Tensor,
    generator: torch.Generator,
    shift_ev: float = 0.0,
    broadening_ev: float = 0.0,
    noise: float = 0.0,
    step_ev: float = float(ML_GRID[1] - ML_GRID[0]),
) -> torch.Tensor:
    """Random energy shift (uniform in +-``shift_ev``), Gaussian broadening (sigma uniform in
    [0, ``broadening_ev``]) and noise (Gaussian, ``noise`` x each spectrum's maximum), per row."""
    rows = x.reshape(-1, x.shape[-1])
    n = rows.shape[0]

    def uniform(low: float, high: float) -> torch.Tensor:
        return (torch.rand(n, generator=generator, device=generator.device) * (high - low) + low).to(rows.device)

    if shift_ev > 0:
        rows = shift_spectra(rows, uniform(-shift_ev, shift_ev) / step_ev)
    if broadening_ev > 0:
        rows = broaden_spectra(rows, uniform(0.0, broadening_ev) / step_ev)
    if noise > 0:
        scale = rows.abs().amax(-1, keepdim=True)
        gaussian = torch.randn(rows.shape, generator=generator, device=generator.device).to(rows.device)
        rows = rows + noise * scale * gaussian
    return rows.reshape(x.shape)
