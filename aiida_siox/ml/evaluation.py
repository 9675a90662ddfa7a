"""Scores and the paper's analyses that need no training: metrics, sub-windows, per-cell means."""

from __future__ import annotations

import numpy as np

from .grid import GRID_END_EV, GRID_START_EV, ML_GRID

#: The eight 6.25 eV windows a-h from 1830 eV and the two 25 eV halves (paper, sub-window study).
WINDOWS = {
    **{letter: (GRID_START_EV + 6.25 * i, GRID_START_EV + 6.25 * (i + 1)) for i, letter in enumerate('abcdefgh')},
    'low_half': (GRID_START_EV, (GRID_START_EV + GRID_END_EV) / 2),
    'high_half': ((GRID_START_EV + GRID_END_EV) / 2, GRID_END_EV),
}


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(y_true) - np.asarray(y_pred)) ** 2)))


def r2(y_true: np.ndarray, y_pred: np.ndarray) -> float | None:
    """Coefficient of determination; None (JSON null) when undefined (fewer than 2 distinct values)."""
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    denominator = float(np.sum((y_true - y_true.mean()) ** 2))
    if len(y_true) < 2 or denominator <= 1e-12:
        return None
    return 1.0 - float(np.sum((y_true - y_pred) ** 2)) / denominator


def scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float | None]:
    return {'rmse': rmse(y_true, y_pred), 'r2': r2(y_true, y_pred), 'n': len(y_true)}


def per_site_rmse(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """RMSE of each row (one RDF per site) over its points."""
    return np.sqrt(np.mean((np.asarray(y_true) - np.asarray(y_pred)) ** 2, axis=-1))


def window_masks(energy: np.ndarray = ML_GRID) -> dict[str, np.ndarray]:
    """0/1 input mask per window over the grid (a window owns the points in [start, end))."""
    masks = {}
    for name, (start, end) in WINDOWS.items():
        inside = (energy >= start - 1e-9) & ((energy < end - 1e-9) | (end >= energy[-1]))
        masks[name] = inside.astype(np.float32)
    return masks


def by_coordination(y_true: np.ndarray, y_pred: np.ndarray, n_o: np.ndarray) -> dict[str, dict]:
    """Scores per Si(n+) class (n = number of O neighbours): the paper's five clusters."""
    result = {}
    for n in np.unique(n_o):
        rows = n_o == n
        result[f'Si{int(n)}+'] = {**scores(y_true[rows], y_pred[rows]), 'mean_true': float(np.mean(y_true[rows]))}
    return result


def cell_means(groups: np.ndarray, *arrays: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Mean over the rows of each cell, for every array: (cell ids, [means per array])."""
    cells, inverse = np.unique(groups, return_inverse=True)
    counts = np.bincount(inverse).astype(float)
    means = []
    for values in arrays:
        values = np.asarray(values, float)
        flat = values.reshape(len(values), -1)
        sums = np.zeros((len(cells), flat.shape[1]))
        np.add.at(sums, inverse, flat)
        means.append((sums / counts[:, None]).reshape((len(cells), *values.shape[1:])))
    return cells, means
