"""A user's measured spectrum before it is stored: units, order, sanity checks, energy calibration, and the
training-domain warnings of a prediction. Pure numpy, no profile."""

import numpy as np
import pytest

from aiida_siox.analysis.measured_spectrum import (
    MIN_POINTS,
    SpectrumInputError,
    check_measured_spectrum,
    main_peak_energy,
    read_measured_spectrum,
    reference_shift,
)
from aiida_siox.ml.domain import domain_warnings, input_distance, training_domain

ENERGY = np.linspace(1825.0, 1885.0, 121)


def peak(centre: float, width: float = 1.5, energy: np.ndarray = ENERGY) -> np.ndarray:
    return np.exp(-0.5 * ((energy - centre) / width) ** 2)


def test_kev_is_converted_and_descending_energies_sorted():
    energy, intensity, notes = check_measured_spectrum(ENERGY[::-1] / 1000.0, peak(1846.0)[::-1])
    assert np.allclose(energy, ENERGY) and np.allclose(intensity, peak(1846.0))
    assert notes == ['energies read as keV and converted to eV', 'energies sorted ascending']
    _, _, untouched = check_measured_spectrum(ENERGY, peak(1846.0))
    assert untouched == []


@pytest.mark.parametrize(
    ('energy', 'intensity', 'message'),
    [
        (ENERGY, np.where(np.arange(121) == 7, np.nan, 1.0), r'a\.txt line 8: NaN or infinite value'),
        (ENERGY[: MIN_POINTS - 1], np.ones(MIN_POINTS - 1), rf'a\.txt: {MIN_POINTS - 1} points; at least {MIN_POINTS}'),
        (np.r_[ENERGY[:5], ENERGY[4:]], np.ones(122), r'a\.txt lines 5 and 6: the same energy 1827\.0000 eV twice'),
        (ENERGY, np.zeros(121), 'zero or negative everywhere'),
        (ENERGY, peak(1846.0) - 0.3, r'a\.txt line 1: intensity -0\.3, below -10% of the maximum'),
    ],
)
def test_each_bad_spectrum_gets_one_line_naming_file_and_line(energy, intensity, message):
    lines = list(range(1, len(energy) + 1))
    with pytest.raises(SpectrumInputError, match=message) as error:
        check_measured_spectrum(energy, intensity, 'a.txt', lines)
    assert '\n' not in str(error.value)


def test_small_negative_pre_edge_noise_is_kept():
    noisy = peak(1846.0) - 0.02
    assert np.allclose(check_measured_spectrum(ENERGY, noisy)[1], noisy)


def test_file_lines_are_named_with_header_and_comments(tmp_path):
    path = tmp_path / 'measured.csv'
    rows = [f'{e / 1000:.6f},{i:.6f}' for e, i in zip(ENERGY, peak(1846.0), strict=True)]
    rows[30] = rows[30].split(',')[0] + ',nan'
    path.write_text('# beamline X\n# energy in keV\nenergy,mu\n' + '\n'.join(rows))
    with pytest.raises(SpectrumInputError, match=r'measured\.csv line 34: NaN'):
        read_measured_spectrum(path)


def test_main_peak_is_found_between_grid_points_and_gives_the_reference_shift():
    assert main_peak_energy(ENERGY, peak(1849.13)) == pytest.approx(1849.13, abs=0.02)  # grid step 0.5 eV
    assert reference_shift(ENERGY, peak(1849.13) + 0.3 * peak(1838.0, 3.0)) == pytest.approx(1846.0 - 1849.13, abs=0.02)


def test_domain_warns_for_a_spectrum_in_other_units_and_for_an_output_out_of_range():
    rng = np.random.default_rng(3)
    centres = rng.uniform(1840.0, 1848.0, 200)
    inputs = np.array([peak(c, energy=ENERGY) for c in centres])
    domain = training_domain(inputs, (centres - 1840.0)[:, None] / 2.0)  # a "valence" 0 to 4
    assert domain['target_min'] == pytest.approx(0.0, abs=0.05) and domain['target_max'] == pytest.approx(4.0, abs=0.05)
    inside = peak(1844.0)
    assert input_distance(inside, domain) < domain['input_distance_limit']
    assert domain_warnings(inside, np.array([2.0]), domain, 'charge') == []
    warnings = domain_warnings(100 * inside, np.array([117.7]), domain, 'charge')  # another intensity unit
    assert len(warnings) == 2 and 'outside the training spectra' in warnings[0] and '+117.70 e lies outside' in warnings[1]
    assert 'exceeds the largest g' in domain_warnings(inside, np.array([1349.0]), domain, 'rdf')[0]
    assert 'records no training domain' in domain_warnings(inside, np.array([2.0]), None, 'charge')[0]
