"""LAMMPS files: data round trip, explicit seeds, schedule validation."""

import numpy as np
import pytest

from aiida_siox.analysis import lammps_io
from aiida_siox.structures import build_siox_cell


def test_data_file_round_trip_keeps_order_and_positions():
    cell = build_siox_cell(1.0, seed=4, supercell=2)
    text = lammps_io.write_lammps_data(cell.symbols, cell.positions, cell.cell)
    symbols, positions, box = lammps_io.read_lammps_data(text)
    assert symbols == cell.symbols
    assert np.allclose(box, cell.cell)
    assert np.allclose(positions, cell.positions % np.diag(cell.cell))


def test_script_carries_the_seed_and_schedule():
    params = lammps_io.MeltQuenchParameters(seed=12345, hold_steps=77, cool_steps=88)
    script = lammps_io.melt_quench_script(params)
    assert 'velocity all create 300.0 12345' in script
    # heat 10000 (default), then hold 77 and cool 88 steps, on absolute timesteps
    assert '"run 10077 upto start 10000 stop 10077"' in script and '"run 10165 upto start 10077 stop 10165"' in script
    assert 'pair_coeff * * SiO.tersoff Si O' in script
    assert 'box/relax iso 1.01325' in script


def test_ensembles_of_the_melt_and_the_cool_are_chosen_separately():
    held = lammps_io.melt_quench_script(lammps_io.MeltQuenchParameters(seed=3, melt_ensemble='nvt', cool_ensemble='nvt'))
    assert 'fix md all npt' not in held  # the volume is held until the final box/relax
    assert held.count('fix md all nvt temp 5000.0 1.0') == 1 and 'box/relax iso 1.01325' in held
    default = lammps_io.melt_quench_script(lammps_io.MeltQuenchParameters(seed=3, melt_ensemble='nvt'))
    assert 'fix md all npt temp 5000.0 1.0' in default and 'fix md all nvt temp 300.0 5000.0' in default


@pytest.mark.parametrize(
    ('kwargs', 'message'),
    [
        ({'seed': 0}, r'seed must be an integer in \[1, 900000000\), got 0'),
        ({'seed': 1, 'hold_steps': 0}, 'hold_steps must be a positive integer, got 0'),
        ({'seed': 1, 'melt_ensemble': 'nve'}, "melt_ensemble must be 'npt' or 'nvt', got 'nve'"),
        ({'seed': 1, 'cool_ensemble': 'nph'}, "cool_ensemble must be 'npt' or 'nvt', got 'nph'"),
    ],
)
def test_bad_schedule_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        lammps_io.MeltQuenchParameters(**kwargs)


def test_non_orthogonal_or_foreign_cells_are_refused():
    with pytest.raises(ValueError, match='orthogonal'):
        lammps_io.write_lammps_data(['Si'], np.zeros((1, 3)), [[3, 0, 0], [1, 3, 0], [0, 0, 3]])
    with pytest.raises(ValueError, match='only Si and O'):
        lammps_io.write_lammps_data(['C'], np.zeros((1, 3)), np.eye(3) * 3)
