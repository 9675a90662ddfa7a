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
    energy = np.linspace(-20, 50, 701)
    intensity = np.exp(-((energy - 5.0) ** 2) / 0.5)
    shift = spectrum.fch_shift(6.0, -1000.0, -938.4)  # E0 + [E(FCH) - E(ground)] = 6 - 61.6
    assert shift == pytest.approx(-55.6)
    constant = spectrum.calibration_constant(5.0 + shift, 1846.0)
    aligned, covered = spectrum.align_spectrum(energy, intensity, shift, constant)
    assert aligned.shape == (256,) and spectrum.covers(covered)
    assert spectrum.main_peak_energy(spectrum.ML_GRID, aligned) == pytest.approx(1846.0, abs=0.05)
    # a site with a 2 eV higher energy zero E0 appears 2 eV higher: E0 is part of the shift
    shifted, _ = spectrum.align_spectrum(energy, intensity, spectrum.fch_shift(8.0, -1000.0, -938.4), constant)
    assert spectrum.main_peak_energy(spectrum.ML_GRID, shifted) == pytest.approx(1848.0, abs=0.05)


def test_points_outside_the_computed_range_are_nan_and_flagged():
    energy = np.linspace(-10, 30, 401)
    intensity = np.exp(-((energy - 5.0) ** 2) / 0.5)
    aligned, covered = spectrum.align_spectrum(energy, intensity, 0.0, 1841.0)  # covers 1831-1871 eV only
    assert covered == pytest.approx((1831.0, 1871.0))
    assert not spectrum.covers(covered)
    assert np.isnan(aligned[spectrum.ML_GRID > 1871.0]).all() and np.isnan(aligned[spectrum.ML_GRID < 1831.0]).all()
    assert np.isfinite(aligned[(spectrum.ML_GRID > 1831.0) & (spectrum.ML_GRID < 1871.0)]).all()


def test_xch_form_puts_the_first_empty_level_on_the_excited_state_energy():
    # E0 = 6.0 (VBM), first empty FCH level at 6.6, E(XCH) - E(ground) = 1839.0 - C_free terms
    shift = spectrum.xch_shift(6.0, 6.6, -2000.0 + 1839.0, -2000.0)
    # the first empty level sits at E_xspectra = 0.6 on xspectra's axis: it must land on 1839.0
    assert 0.6 + shift == pytest.approx(1839.0)


def test_occupied_and_empty_levels_follow_the_occupation_not_the_smearing_tail():
    # c-Si FCH with Gaussian smearing (measured): VBM at 5.999 (occ 1.9988), core-exciton level at 6.592 (occ 0.0035)
    eigenvalues = np.array([[5.493, 5.999, 6.592, 6.897], [5.2, 5.9, 7.0, 7.4]])
    occupations = np.array([[2.0, 1.9988, 0.0035, 0.0], [2.0, 2.0, 0.0, 0.0]])
    assert spectrum.highest_occupied_level(eigenvalues, occupations) == pytest.approx(5.999)
    assert spectrum.first_empty_level(eigenvalues, occupations) == pytest.approx(6.592)
    assert spectrum.occupation_cut_energy(eigenvalues, occupations) == pytest.approx(0.5 * (5.999 + 6.592))
    # occupations on a 0-1 scale (spin-polarised runs) give the same levels
    assert spectrum.highest_occupied_level(eigenvalues, occupations / 2) == pytest.approx(5.999)
    with pytest.raises(ValueError, match='nbnd'):
        spectrum.first_empty_level(eigenvalues[:, :2], occupations[:, :2])


def test_energy_zero_is_xe0_when_set_else_what_xspectra_printed():
    printed = {'energy_zero': '6.5917', 'fermi_energy': '6.5917'}
    assert spectrum.xspectra_energy_zero({'xe0': 5.999}, printed) == pytest.approx(5.999)
    assert spectrum.xspectra_energy_zero({}, printed) == pytest.approx(6.5917)
    assert spectrum.xspectra_energy_zero({}, {'fermi_energy': '3.1'}) == pytest.approx(3.1)
    # the xe0 the site job set (what xspectra.x ran with) comes before an input's
    assert spectrum.xspectra_energy_zero({'xe0': 5.999}, {**printed, 'xe0': 6.2}) == pytest.approx(6.2)
    with pytest.raises(ValueError, match='energy zero'):
        spectrum.xspectra_energy_zero({}, {})


def test_ml_grid_is_the_papers():
    assert spectrum.ML_GRID[0] == 1830.0 and spectrum.ML_GRID[-1] == 1880.0 and len(spectrum.ML_GRID) == 256


def test_onset_is_half_of_the_first_peak_not_of_the_global_maximum():
    energy = np.linspace(0.0, 40.0, 4001)
    first = np.exp(-((energy - 6.0) ** 2) / (2 * 0.5**2))  # an edge peak of height 1 at 6 eV
    later = 3.0 * np.exp(-((energy - 30.0) ** 2) / (2 * 1.0**2))  # a higher feature 24 eV later
    # half of the first peak is reached at 6 - 0.5 * sqrt(2 ln 2) eV
    expected = 6.0 - 0.5 * np.sqrt(2 * np.log(2))
    assert spectrum.onset_energy(energy, first + later) == pytest.approx(expected, abs=1e-3)
    # the global half maximum (1.5) would have put the onset on the later feature
    assert spectrum.onset_energy(energy + 2.0, first + later) == pytest.approx(expected + 2.0, abs=1e-3)
    with pytest.raises(ValueError, match='positive'):
        spectrum.onset_energy(energy, np.zeros_like(energy))


def test_onset_spike_is_found_and_a_lorentzian_edge_is_not():
    energy = np.linspace(-5.0, 20.0, 1001)

    def lorentzian(centre, fwhm):
        return (0.5 * fwhm) ** 2 / ((energy - centre) ** 2 + (0.5 * fwhm) ** 2)

    clean = lorentzian(2.0, 0.8) + 0.8 * lorentzian(5.0, 3.0)
    assert spectrum.onset_spikes(energy, clean) == []
    spiked = clean + 1.5 * lorentzian(1.0, 0.2)  # a 0.2 eV wide peak at the onset, higher than the edge
    spikes = spectrum.onset_spikes(energy, spiked)
    assert len(spikes) == 1
    assert spikes[0][0] == pytest.approx(1.0, abs=0.05) and spikes[0][1] < 0.5
    far = clean + 0.5 * lorentzian(15.0, 0.2)  # narrow but far from the onset: not an onset spike
    assert spectrum.onset_spikes(energy, far) == []
