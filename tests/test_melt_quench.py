"""MeltQuenchWorkChain with real LAMMPS: physical output, explicit seeds, resume after a kill, table."""

import numpy as np
import pytest
from aiida import orm
from click.testing import CliRunner
from local_runner import run_get_node

from aiida_siox.analysis.rdf import site_distances
from aiida_siox.calculations.structure_builder import build_amorphous_seed
from aiida_siox.workflows.melt_quench import MeltQuenchWorkChain

pytestmark = pytest.mark.codes

#: One LAMMPS rank: the kill test limits the CPU time of each process of the job.
SERIAL = {'resources': {'num_machines': 1, 'num_mpiprocs_per_machine': 1}, 'max_wallclock_seconds': 600}


def melt_quench(siox_setup, structure, seed, overrides=None, options=None):
    builder = MeltQuenchWorkChain.get_builder_from_protocol(
        siox_setup['codes']['lmp'], structure, seed, protocol='fast', overrides=overrides, options={**SERIAL, **(options or {})}
    )
    return run_get_node(builder)


@pytest.fixture(scope='module')
def silica_90(siox_setup):
    """x = 2 in a 3x3x3 supercell: Si30O60, 90 atoms."""
    start = build_amorphous_seed(orm.Float(2.0), orm.Int(4), orm.Int(3))
    results, node = melt_quench(siox_setup, start, 4)
    return start, results, node


def test_fast_melt_quench_of_silica_is_physical(silica_90):
    start, results, node = silica_90
    assert node.is_finished_ok, f'{node.exit_status}: {node.exit_message}'
    structure = results['structure'].get_ase()
    assert structure.get_chemical_formula() == 'O60Si30' == start.get_ase().get_chemical_formula()
    validation = results['validation'].get_dict()
    assert validation['valid'], validation['reasons']
    assert abs(validation['density_g_cm3'] - 2.2) < 0.33  # within 15 % of a-SiO2
    assert validation['min_distance_A'] > 1.3
    # Si-O bonds: every O-neighbour distance of every Si within 2 A sits at 1.6 +- 0.1 A.
    symbols = np.array(structure.get_chemical_symbols())
    bonds = []
    for site in np.flatnonzero(symbols == 'Si'):
        dist, index = site_distances(structure.positions, structure.cell[:], site, 2.0)
        bonds.extend(dist[symbols[index] == 'O'])
    assert 1.55 < np.mean(bonds) < 1.68
    assert validation['oxidation_classes']['Si4+'] >= 0.7 * 30  # mostly SiO4 tetrahedra
    trace = results['thermo']
    assert trace.get_array('temperature_K').max() > 4000  # it really melted
    assert trace.get_array('temperature_K')[-1] < 50  # and was quenched
    assert results['coordination_histogram'].get_content(mode='rb')[:8] == b'\x89PNG\r\n\x1a\n'
    assert results['summary']['n_jobs'] == 1


def test_seeds_are_explicit_and_reproducible(siox_setup, silica_90):
    start, first, node = silica_90
    again, _ = melt_quench(siox_setup, start, 4)
    other, _ = melt_quench(siox_setup, start, 5)
    positions = [r['structure'].get_ase().positions for r in (first, again, other)]
    assert np.allclose(positions[0], positions[1], atol=1e-6)  # same seed: same structure
    assert not np.allclose(positions[0], positions[2], atol=1e-2)  # another seed: another structure
    job = next(n for n in node.called if n.process_label == 'LammpsRawCalculation')
    assert 'velocity all create 300.0 4 ' in job.inputs.script.get_content()


def test_job_killed_mid_run_resumes_from_its_restart_file(siox_setup):
    """The CPU-time limit kills LAMMPS the way a scheduler's wall time does; each job resumes from the last restart."""
    start = build_amorphous_seed(orm.Float(2.0), orm.Int(6), orm.Int(3))
    overrides = {'parameters': {'hold_steps': 20000, 'cool_steps': 30000, 'restart_every': 1000}, 'max_iterations': 8}
    results, node = melt_quench(siox_setup, start, 6, overrides=overrides, options={'prepend_text': 'ulimit -t 3'})
    assert node.is_finished_ok, f'{node.exit_status}: {node.exit_message}'
    jobs = [n for n in node.called if n.process_label == 'LammpsRawCalculation']
    assert len(jobs) >= 2, 'the limit should have killed the first job'
    first_files = jobs[0].outputs.retrieved.base.repository.list_object_names()
    assert 'final.data' not in first_files and any(name.startswith('restart.') for name in first_files)
    assert not jobs[0].base.caching.is_valid_cache  # an interrupted job is never reused from the cache
    resumed = jobs[1].inputs.script.get_content()
    assert 'read_restart resume.restart' in resumed and 'velocity all create' not in resumed
    summary = results['summary'].get_dict()
    assert summary['n_jobs'] == len(jobs)
    assert all(step > 0 for step in summary['first_step_per_job'][1:])  # resumed, not from zero
    steps = results['thermo'].get_array('step')
    assert np.all(np.diff(steps) > 0) and steps[-1] == 2000 + 20000 + 30000
    assert results['validation']['valid']


def test_bad_inputs_are_refused(siox_setup):
    start = build_amorphous_seed(orm.Float(1.0), orm.Int(1), orm.Int(2))
    with pytest.raises(ValueError, match='seed must be an integer'):
        melt_quench(siox_setup, start, 0)
    with pytest.raises(ValueError, match='hold_steps must be a positive integer'):
        melt_quench(siox_setup, start, 1, overrides={'parameters': {'hold_steps': 0}})
    foreign = orm.StructureData(cell=np.eye(3) * 5)
    foreign.append_atom(position=(0, 0, 0), symbols='Ge')
    with pytest.raises(ValueError, match='Si and O only'):
        melt_quench(siox_setup, foreign, 1)


def test_structures_table_lists_composition_seed_density_and_status(silica_90, aiida_profile):
    from aiida_siox.cli import siox

    _, results, node = silica_90
    group, _ = orm.Group.collection.get_or_create('test/structures')
    group.add_nodes(node)
    result = CliRunner().invoke(siox, ['structures', 'test/structures', '-p', aiida_profile.name])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if line.split()[:1] == [str(node.pk)])
    words = row.split()
    assert words[1:4] == ['2', '4', 'Si30O60']
    assert float(words[4]) == pytest.approx(results['validation']['density_g_cm3'], abs=1e-3)
    assert words[-1] == 'valid'
    missing = CliRunner().invoke(siox, ['structures', 'no/such/group', '-p', aiida_profile.name])
    assert missing.exit_code == 1 and 'no group or workchain' in missing.output


def test_invalid_structure_is_skipped_before_any_dft(siox_setup):
    """A quenched cell that fails validation stops its structure pipeline with the reason; no pw.x job runs."""
    from aiida_siox.workflows.structure_pipeline import SiOxStructureWorkChain

    calibration = orm.Dict({'constant_ev': 0.0, 'target_ev': 1846.0, 'alignment': 'fch'})
    builder = SiOxStructureWorkChain.get_builder_from_protocol(siox_setup['codes'], 1.0, 2, protocol='fast', calibration=calibration)
    builder.md.validation = orm.Dict({'max_void_radius': 0.5})  # no real cell passes this
    results, node = run_get_node(builder)
    assert node.exit_status == SiOxStructureWorkChain.exit_codes.ERROR_STRUCTURE_INVALID.status
    assert 'void: empty sphere of radius' in node.exit_message
    assert results['md']['validation']['valid'] is False
    assert not [n for n in node.called_descendants if n.process_label == 'PwCalculation']
