"""Spectrum algebra: isotropic mean, Delta-SCF + calibration alignment, main-peak finding."""

import numpy as np
import pytest

from aiida_siox.analysis import spectrum


def test_isotropic_is_mean_of_three():
    x, y, z = np.ones(5), 2 * np.ones(5), 6 * np.ones(5)
    assert np.allclose(spectrum.isotropic_spectrum([x, y, z]), 3.0)
    with pytest.raises(ValueError, match='3 dipole polarisations'):
        spectrum.isotropic_spectrum([x, y])


def test_main_peak_is_refined_between_grid_points():
    energy = np.linspace(-10, 50, 301)
    intensity = np.exp(-((energy - 7.13) ** 2) / 2.0)
    assert spectrum.main_peak_energy(energy, intensity) == pytest.approx(7.13, abs=0.02)


def test_alignment_shifts_the_peak_onto_the_target():
    energy = np.linspace(-10, 50, 601)
    intensity = np.exp(-((energy - 5.0) ** 2) / 0.5)
    delta = -61.6
    constant = spectrum.calibration_constant(5.0 + delta, 1846.0)
    aligned = spectrum.align_spectrum(energy, intensity, delta, constant)
    assert aligned.shape == (256,)
    assert spectrum.main_peak_energy(spectrum.ML_GRID, aligned) == pytest.approx(1846.0, abs=0.05)
    # a site with a 2 eV larger Delta-SCF shift appears 2 eV higher
    shifted = spectrum.align_spectrum(energy, intensity, delta + 2.0, constant)
    assert spectrum.main_peak_energy(spectrum.ML_GRID, shifted) == pytest.approx(1848.0, abs=0.05)


def test_ml_grid_is_the_papers():
    assert spectrum.ML_GRID[0] == 1830.0 and spectrum.ML_GRID[-1] == 1880.0 and len(spectrum.ML_GRID) == 256


def test_edge_energy_is_the_interpolated_half_maximum_rise():
    energy = np.linspace(0.0, 10.0, 11)
    intensity = np.clip(energy - 3.0, 0.0, 4.0)  # rises from 3 eV, max 4 from 7 eV
    assert spectrum.edge_energy(energy, intensity) == pytest.approx(5.0)
    assert spectrum.edge_energy(energy, intensity, fraction=0.25) == pytest.approx(4.0)
    assert spectrum.edge_energy(energy + 2.0, intensity) == pytest.approx(7.0)  # follows a shift
    with pytest.raises(ValueError, match='fraction'):
        spectrum.edge_energy(energy, intensity, fraction=0.0)
