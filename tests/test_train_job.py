"""The training script's pure helpers (no job, no AiiDA)."""

import numpy as np

from aiida_siox.ml.train_job import normalise, rmse_r2, split_indices


def test_split_is_seeded_disjoint_and_complete():
    train, test = split_indices(50, 0.2, seed=3)
    again, _ = split_indices(50, 0.2, seed=3)
    assert len(test) == 10 and np.array_equal(train, again)
    assert set(train).isdisjoint(test) and set(train) | set(test) == set(range(50))
    train_small, test_small = split_indices(2, 0.2, seed=0)  # tiny sets keep one site on each side
    assert len(train_small) == 1 and len(test_small) == 1


def test_rmse_r2_and_undefined_r2():
    y = np.array([0.0, 1.0, 2.0, 3.0])
    assert rmse_r2(y, y) == (0.0, 1.0)
    rmse, r2 = rmse_r2(y, y + 0.5)
    assert np.isclose(rmse, 0.5) and np.isclose(r2, 1 - 1.0 / 5.0)
    assert rmse_r2(np.array([1.0]), np.array([1.5]))[1] is None  # one test site: R2 undefined, not NaN


def test_normalise_scales_by_the_maximum():
    spectra, scale = normalise(np.array([[0.0, 2.0], [1.0, 4.0]]))
    assert scale == 4.0 and spectra.max() == 1.0
