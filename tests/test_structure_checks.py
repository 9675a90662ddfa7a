"""Unit tests of the quenched-structure checks and of the resumable LAMMPS script (no programs run)."""

import numpy as np
import pytest
from ase.build import bulk

from aiida_siox.analysis import lammps_io
from aiida_siox.analysis.structure_checks import (
    ValidationBounds,
    largest_void_radius,
    minimum_distance,
    reference_density,
    validate_cell,
)


def silicon(repeat: int = 1):
    atoms = bulk('Si', 'diamond', 5.43, cubic=True).repeat(repeat)
    return atoms.get_chemical_symbols(), atoms.positions, atoms.cell[:]


def test_reference_density_mixes_the_end_members():
    assert reference_density(0.0) == pytest.approx(2.28)
    assert reference_density(2.0) == pytest.approx(2.20)
    assert 2.20 < reference_density(1.0) < 2.28
    with pytest.raises(ValueError, match=r'\[0, 2\]'):
        reference_density(2.5)


def test_crystalline_silicon_passes_with_exact_numbers():
    report = validate_cell(*silicon(2))
    assert report['valid'], report['reasons']
    assert report['density_g_cm3'] == pytest.approx(2.3297, abs=1e-3)
    assert report['min_distance_A'] == pytest.approx(5.43 * np.sqrt(3) / 4, abs=1e-6)
    # The largest empty sphere of diamond Si sits on the tetrahedral interstitial, a*sqrt(3)/4 from 4 atoms.
    assert report['largest_void_radius_A'] == pytest.approx(5.43 * np.sqrt(3) / 4, abs=0.05)
    assert report['coordination_classes'] == {'[SiSi4]': 64}
    assert report['fraction_fourfold_si'] == 1.0
    assert report['oxidation_classes']['Si0+'] == 64


def test_overlapping_atoms_are_flagged():
    symbols, positions, cell = silicon(2)
    positions = positions.copy()
    positions[1] = positions[0] + [0.5, 0.3, 0.0]
    report = validate_cell(symbols, positions, cell)
    assert not report['valid']
    assert report['min_distance_A'] == pytest.approx(np.hypot(0.5, 0.3), abs=1e-6)
    assert any('overlap' in reason for reason in report['reasons'])


def test_expanded_cell_is_flagged_for_density_and_voids():
    symbols, positions, cell = silicon(2)
    # Same atoms in a box twice as long along z: a slab with a 10.9 A gap, density 1.16 g/cm3.
    cell = cell.copy()
    cell[2, 2] *= 2.0
    report = validate_cell(symbols, positions, cell)
    assert not report['valid']
    assert report['density_g_cm3'] == pytest.approx(2.3297 / 2.0, abs=1e-3)
    assert any('density' in reason for reason in report['reasons'])
    assert any('void' in reason for reason in report['reasons'])
    assert report['largest_void_radius_A'] > 5.0


def test_bounds_are_configurable():
    symbols, positions, cell = silicon(2)
    report = validate_cell(symbols, positions, cell, ValidationBounds(max_void_radius=2.0))
    assert not report['valid'] and 'void' in report['reasons'][0]


def test_distance_helpers_use_periodic_images():
    cell = np.eye(3) * 10.0
    positions = np.array([[0.2, 5.0, 5.0], [9.9, 5.0, 5.0]])
    assert minimum_distance(positions, cell) == pytest.approx(0.3)
    # One atom in a 10 A cube: the farthest point is the body centre's image, sqrt(3) * 5 A away.
    assert largest_void_radius(positions[:1] * 0, cell, spacing=0.5) == pytest.approx(5 * np.sqrt(3), abs=1e-6)


def test_resume_script_reads_the_restart_and_keeps_absolute_phases():
    params = lammps_io.MeltQuenchParameters(seed=7, heat_steps=100, hold_steps=200, cool_steps=300, restart_every=50, thermo_every=10)
    first = lammps_io.melt_quench_script(params)
    resume = lammps_io.melt_quench_script(params, restart_file='resume.restart')
    assert 'velocity all create 300.0 7 ' in first and 'read_data structure.data' in first
    assert 'read_restart resume.restart' in resume and 'velocity all create' not in resume and 'read_data' not in resume
    for script in (first, resume):
        assert 'restart 50 restart.*' in script
        assert 'if "${step} < 100" then "fix md all npt temp 300.0 5000.0' in script
        assert '"run 100 upto start 0 stop 100" "unfix md"' in script
        assert '"run 300 upto start 100 stop 300"' in script
        assert '"run 600 upto start 300 stop 600"' in script
    assert lammps_io.total_steps(params) == 600


def test_latest_restart_and_stitched_trace():
    names = ['final.data', 'restart.2000', 'restart.10000', 'restart.400', 'restart.bad', 'thermo.dat']
    assert lammps_io.latest_restart(names) == ('restart.10000', 10000)
    assert lammps_io.latest_restart(['thermo.dat']) is None

    def segment(steps):
        steps = np.asarray(steps, float)
        return {'step': steps, 'temperature_K': steps * 0 + steps[0]}

    # The first job reached step 50 and was killed; its restart file was from step 30.
    trace = lammps_io.stitch_thermo([segment([0, 10, 20, 30, 40, 50]), segment([30, 40, 50, 60])])
    assert trace['step'].tolist() == [0, 10, 20, 30, 40, 50, 60]
    assert trace['temperature_K'].tolist() == [0, 0, 0, 30, 30, 30, 30]


def test_truncated_and_repeated_thermo_lines():
    text = '# step time temp press density pe vol\n0 0 300 1 2.2 -10 100\n10 0.01 310 1 2.2 -10 100\n10 0.01 310 1 2.2 -10 100\n20 0.02 3'
    trace = lammps_io.read_thermo(text)
    assert trace['step'].tolist() == [0, 10]  # the repeated phase boundary kept once, the truncated line dropped
