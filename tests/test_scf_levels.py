"""The site job's xe0 step (analysis/scf_levels.py): pw.x's XML levels -> mid-gap xe0 written into xspectra inputs."""

import json

import numpy as np
import pytest

from aiida_siox.analysis import scf_levels

#: Two k-points, four bands, occupations as pw.x writes them in its XML (fractions of a level), energies in Ha.
PW_XML = """<?xml version="1.0"?>
<qes:espresso xmlns:qes="http://www.quantum-espresso.org/ns/qes/qes-1.0"><output><band_structure>
  <ks_energies><k_point weight="1.0">0 0 0</k_point><npw>100</npw>
    <eigenvalues size="4">-0.30 0.10 0.20 0.25</eigenvalues><occupations size="4">1.0 1.0 0.0 0.0</occupations></ks_energies>
  <ks_energies><k_point weight="1.0">0.5 0 0</k_point><npw>100</npw>
    <eigenvalues size="4">-0.28 0.12 0.22 0.30</eigenvalues><occupations size="4">1.0 0.9 0.1 0.0</occupations></ks_energies>
</band_structure></output></qes:espresso>
"""

XSPECTRA_INPUT = """&INPUT_XSPECTRA
  calculation = 'xanes_dipole'
  xiabs = 2
/
&PLOT
  xnepoint = 10
/
1 1 1 0 0 0
"""


def test_levels_are_read_in_ev_for_every_k_point():
    eigenvalues, occupations = scf_levels.read_pw_levels(PW_XML)
    assert eigenvalues.shape == occupations.shape == (2, 4)
    assert eigenvalues[1, 1] == pytest.approx(0.12 * scf_levels.HARTREE_TO_EV)
    # highest occupied 0.12 Ha (0.9 of a level), first empty 0.20 Ha: xe0 midway
    expected = 0.5 * (0.12 + 0.20) * scf_levels.HARTREE_TO_EV
    assert scf_levels.occupation_cut_energy(eigenvalues, occupations) == pytest.approx(expected)


def test_xml_without_levels_is_refused():
    with pytest.raises(ValueError, match='no <ks_energies>'):
        scf_levels.read_pw_levels('<qes:espresso xmlns:qes="x"><output/></qes:espresso>')


def test_xe0_goes_into_input_xspectra_and_replaces_an_earlier_one():
    once = scf_levels.with_energy_zero(XSPECTRA_INPUT, 5.25)
    lines = once.splitlines()
    assert lines[:2] == ['&INPUT_XSPECTRA', '  xe0 = 5.25'] and lines[-1] == '1 1 1 0 0 0'
    twice = scf_levels.with_energy_zero(once, -1.5)
    assert twice.count('xe0') == 1 and '  xe0 = -1.5' in twice
    with pytest.raises(ValueError, match='no &INPUT_XSPECTRA'):
        scf_levels.with_energy_zero('&PLOT\n/\n', 1.0)


def test_the_step_sets_every_input_and_records_the_levels(tmp_path):
    (tmp_path / 'data.xml').write_text(PW_XML)
    inputs = [tmp_path / f'aiida_{name}.in' for name in 'xyz']
    for path in inputs:
        path.write_text(XSPECTRA_INPUT)
    scf_levels.main([str(tmp_path / 'data.xml'), str(tmp_path / 'xe0.json'), *map(str, inputs)])
    record = json.loads((tmp_path / 'xe0.json').read_text())
    assert record['highest_occupied_level'] < record['xe0'] < record['first_empty_level']
    for path in inputs:
        written = [line for line in path.read_text().splitlines() if line.strip().startswith('xe0')]
        assert len(written) == 1 and float(written[0].split('=')[1]) == record['xe0']  # full precision, as recorded
    assert np.isclose(record['xe0'], 0.5 * (record['highest_occupied_level'] + record['first_empty_level']))


def test_the_site_job_takes_xe0_from_its_parameters_or_from_the_step_not_both():
    """The step would overwrite an xe0 of the parameters: the job refuses the two together, in any case of the keys."""
    from aiida import orm

    from aiida_siox.calculations.core_hole_xspectra import validate_energy_zero

    own = {'parameters': orm.Dict({'input_xspectra': {'XE0': 5.0}})}
    assert 'give one of the two' in validate_energy_zero({'energy_zero_code': orm.Int(1), 'xspectra': own}, None)
    assert validate_energy_zero({'xspectra': own}, None) is None
    assert validate_energy_zero({'energy_zero_code': orm.Int(1), 'xspectra': {'parameters': orm.Dict({})}}, None) is None
