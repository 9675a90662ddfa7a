"""Train/test splits and cross-validation folds, by site (the paper) or by cell (honest).

Sites of one cell share a network and a density, so a random site split puts near-copies of test
sites into training. Splitting by cell (``group`` = the structure each site belongs to) measures
how a model does on a structure it has never seen, which is what a user applying it to a new
sample gets.
"""

from __future__ import annotations

import numpy as np


def cell_groups(x: np.ndarray, seed: np.ndarray) -> np.ndarray:
    """One integer per row naming its cell: rows with the same composition and seed share a cell."""
    keys = np.stack([np.round(np.asarray(x, float), 6), np.asarray(seed, float)], axis=1)
    _, groups = np.unique(keys, axis=0, return_inverse=True)
    return groups.ravel()


def train_test_split(n: int, test_fraction: float, seed: int, groups: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Random split of ``n`` rows; with ``groups``, whole groups go to one side.

    At least one row (one group) lands on each side; the test side holds about ``test_fraction``
    of the rows (of the groups, when grouped).
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f'test_fraction must lie in (0, 1), got {test_fraction}')
    rng = np.random.default_rng(seed)
    if groups is None:
        if n < 2:
            raise ValueError(f'cannot split {n} row(s) into a training and a test set')
        order = rng.permutation(n)
        n_test = min(max(1, round(test_fraction * n)), n - 1)
        return np.sort(order[n_test:]), np.sort(order[:n_test])
    groups = np.asarray(groups)
    unique = np.unique(groups)
    if len(unique) < 2:
        raise ValueError('a split by cell needs at least 2 cells; the dataset has 1')
    order = rng.permutation(unique)
    n_test = min(max(1, round(test_fraction * len(unique))), len(unique) - 1)
    is_test = np.isin(groups, order[:n_test])
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)


def subsample(rows: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """A seeded random ``fraction`` of ``rows`` (at least 2), sorted: the training rows of a learning-curve point."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f'train_fraction must lie in (0, 1], got {fraction}')
    if fraction == 1.0:
        return np.asarray(rows)
    keep = min(len(rows), max(2, round(fraction * len(rows))))
    return np.sort(np.random.default_rng(seed + 7919).permutation(np.asarray(rows))[:keep])


def kfold(n: int, k: int, seed: int, groups: np.ndarray | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` (fit, validation) folds over ``n`` rows; every row is validated exactly once.

    Without ``groups``: rows shuffled and dealt into ``k`` near-equal folds. With ``groups``
    (GroupKFold): whole groups, largest first, each into the currently smallest fold, after a
    seeded shuffle so that equal-sized groups are not always dealt in the same order.
    """
    if k < 2:
        raise ValueError(f'cross-validation needs k >= 2, got {k}')
    rng = np.random.default_rng(seed)
    fold_of = np.empty(n, int)
    if groups is None:
        if n < k:
            raise ValueError(f'{k}-fold cross-validation needs at least {k} rows, got {n}')
        fold_of[rng.permutation(n)] = np.arange(n) % k
    else:
        groups = np.asarray(groups)
        unique, counts = np.unique(groups, return_counts=True)
        if len(unique) < k:
            raise ValueError(f'{k}-fold cross-validation by cell needs at least {k} cells, got {len(unique)}')
        shuffled = rng.permutation(len(unique))
        order = shuffled[np.argsort(-counts[shuffled], kind='stable')]
        sizes = np.zeros(k, int)
        for index in order:
            fold = int(np.argmin(sizes))
            fold_of[groups == unique[index]] = fold
            sizes[fold] += counts[index]
    return [(np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)) for f in range(k)]
