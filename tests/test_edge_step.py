"""Edge-step normalisation (pure numpy): pre-edge 0, post-edge 1, independent of scale and background."""

import numpy as np
import pytest
from scipy.special import erf

from aiida_siox.ml.edge_step import edge_energy, edge_step_normalise
from aiida_siox.ml.grid import ML_GRID


def edge(energy: np.ndarray, e0: float = 1845.0) -> np.ndarray:
    """A step of height 1 at e0 (Gaussian-broadened, 1 eV) with a white line 1.5 high, 3 eV above it."""
    return 0.5 * (1.0 + erf((energy - e0) / 1.0)) + 1.5 * np.exp(-0.5 * ((energy - e0 - 3.0) / 1.0) ** 2)


def test_known_step_comes_out_with_pre_edge_zero_and_post_edge_one():
    normalised, info = edge_step_normalise(ML_GRID, edge(ML_GRID))
    assert 1845.0 <= info['e0'] <= 1848.0  # the steepest rise: between the step and the white line's top
    assert info['edge_step'] == pytest.approx(1.0, abs=0.05)
    assert np.abs(normalised[ML_GRID < 1840.0]).max() < 0.05
    assert normalised[ML_GRID > 1860.0].mean() == pytest.approx(1.0, abs=0.05)


def test_scale_and_a_sloped_background_do_not_change_the_result():
    reference, _ = edge_step_normalise(ML_GRID, edge(ML_GRID))
    measured = 250.0 * edge(ML_GRID) + 3.0 + 0.02 * (ML_GRID - 1830.0)  # counts, offset, sloped background
    normalised, info = edge_step_normalise(ML_GRID, measured)
    assert info['edge_step'] == pytest.approx(250.0, rel=0.06)
    assert np.allclose(normalised, reference, atol=0.05)


def test_an_edge_near_the_window_start_still_finds_a_pre_edge():
    normalised, info = edge_step_normalise(ML_GRID, edge(ML_GRID, 1839.0))  # c-Si: 9 eV above the window's start
    assert 1839.0 <= info['e0'] <= 1842.0 and np.abs(normalised[ML_GRID < 1834.0]).max() < 0.05


def test_no_step_is_refused():
    with pytest.raises(ValueError, match='no edge step'):
        edge_step_normalise(ML_GRID, 2.0 - edge(ML_GRID))
    assert edge_energy(ML_GRID, 0.5 * (1.0 + erf((ML_GRID - 1850.0) / 1.0))) == pytest.approx(1850.0, abs=0.2)
