"""Synthetic datasets of the real shape with a known answer (tests and the training benchmark).

Each site has a valence q in [0, 4] (its number of O neighbours n_O, plus noise). Its spectrum is
an arctangent edge at 1838 + 1.5 q eV with a Lorentzian white line above it, the ~6 eV Si(0) ->
Si(4+) chemical shift the method relies on; its RDF has a Si-O shell at 1.62 A weighted by n_O and
a Si-Si shell at 2.35 A weighted by 4 - n_O. A model that learns must find q from the edge.
"""

from __future__ import annotations

import numpy as np

from .grid import ML_GRID

R_GRID = (np.arange(256) + 0.5) * (5.0 / 256)


def synthetic_dataset(n_rows: int, n_cells: int = 45, seed: int = 0) -> dict[str, np.ndarray]:
    """``n_rows`` sites spread over ``n_cells`` cells, arrays named as in the dataset table."""
    rng = np.random.default_rng(seed)
    cell = np.sort(rng.integers(0, n_cells, n_rows))
    cell_x = np.linspace(0.0, 2.0, n_cells)
    x = cell_x[cell]
    n_o = np.clip(rng.binomial(4, x / 2.0), 0, 4)
    charge = n_o * 0.8 + rng.normal(0.0, 0.05, n_rows)
    edge = 1838.0 + 1.5 * charge
    e = ML_GRID[None, :]
    step = 0.5 + np.arctan((e - edge[:, None]) / 0.6) / np.pi
    white_line = (1.0 + 0.3 * n_o)[:, None] / (1.0 + ((e - edge[:, None] - 2.0) / 1.2) ** 2)
    spectra = 0.02 * (step + white_line) + rng.normal(0.0, 2e-4, (n_rows, len(ML_GRID)))
    r = R_GRID[None, :]
    rdf = n_o[:, None] * np.exp(-0.5 * ((r - 1.62) / 0.05) ** 2) + (4 - n_o)[:, None] * np.exp(-0.5 * ((r - 2.35) / 0.07) ** 2)
    return {
        'spectra': spectra,
        'energy': ML_GRID.copy(),
        'charge': charge,
        'rdf': rdf,
        'r': R_GRID.copy(),
        'x': x,
        'seed': cell,
        'site': np.arange(n_rows),
        'n_o': n_o,
        'n_si': 4 - n_o,
    }
