"""Each workchain owns its protocol; the dataset composes its children's builders of the same protocol.

Builders only: nothing is run. The codes and pseudopotential families are the real ones of `siox setup`
(ld1.x generates the families), so this module is marked `codes`.
"""

import os

import pytest
from aiida import orm

from aiida_siox.protocols import PROTOCOLS
from aiida_siox.structures.builder import LATTICE_CONSTANT
from aiida_siox.workflows.bader import BaderWorkChain
from aiida_siox.workflows.dataset import SiOxDatasetWorkChain
from aiida_siox.workflows.melt_quench import MeltQuenchWorkChain
from aiida_siox.workflows.quartz_calibration import QuartzCalibrationWorkChain, calibration_supercell
from aiida_siox.workflows.site_xanes import SiteXanesWorkChain
from aiida_siox.workflows.structure_pipeline import SiOxStructureWorkChain
from aiida_siox.workflows.training import TrainingWorkChain

pytestmark = pytest.mark.codes

WORKCHAINS = [
    MeltQuenchWorkChain,
    SiteXanesWorkChain,
    BaderWorkChain,
    QuartzCalibrationWorkChain,
    TrainingWorkChain,
    SiOxStructureWorkChain,
    SiOxDatasetWorkChain,
]


def ecutwfc(namespace) -> float:
    return namespace.scf.pw.parameters['SYSTEM']['ecutwfc']


@pytest.mark.parametrize('workchain', WORKCHAINS, ids=lambda w: w.__name__)
def test_every_workchain_has_the_same_protocols(workchain):
    assert set(workchain.get_available_protocols()) == set(PROTOCOLS)
    assert workchain.get_default_protocol() == 'fast'


@pytest.mark.parametrize('protocol', PROTOCOLS)
def test_dataset_is_composed_of_its_childrens_protocols(siox_setup, protocol):
    codes = siox_setup['codes']
    dataset = SiOxDatasetWorkChain.get_builder_from_protocol(codes, [0.0, 2.0], [1, 2], protocol=protocol)
    xanes = SiteXanesWorkChain.get_builder_from_protocol(codes, protocol=protocol)
    bader = BaderWorkChain.get_builder_from_protocol(codes, protocol=protocol)
    structure = SiOxStructureWorkChain.get_protocol_inputs(protocol)
    md = MeltQuenchWorkChain.get_protocol_inputs(protocol)

    assert dataset.structure.supercell.value == structure['supercell']
    assert ecutwfc(dataset.structure.xanes) == ecutwfc(xanes) == SiteXanesWorkChain.get_protocol_inputs(protocol)['scf']['ecutwfc']
    assert ecutwfc(dataset.structure.bader) == ecutwfc(bader) == BaderWorkChain.get_protocol_inputs(protocol)['scf']['ecutwfc']
    assert dataset.structure.xanes.xspectra.parameters.get_dict() == xanes.xspectra.parameters.get_dict()
    assert dataset.structure.xanes.xspectra.kpoints.get_kpoints_mesh()[0] == xanes.xspectra.kpoints.get_kpoints_mesh()[0]
    # an `auto` site window is the dataset's share of the slots, a number is the number (test_auto_windows_...)
    site_window = SiteXanesWorkChain.get_protocol_inputs(protocol)['max_concurrent_sites']
    if site_window != 'auto':
        assert dataset.structure.xanes.max_concurrent_sites.value == xanes.max_concurrent_sites.value == site_window
    assert dataset.structure.md.parameters['cool_steps'] == md['parameters']['cool_steps']
    assert dataset.training.job.config.get_dict() == TrainingWorkChain.get_protocol_inputs(protocol)
    # The quartz cell follows the production cell: explicit in `fast`, `auto` elsewhere.
    setting = QuartzCalibrationWorkChain.get_protocol_inputs(protocol)['supercell']
    expected = calibration_supercell(setting, structure['supercell'] * LATTICE_CONSTANT)
    assert dataset.quartz.supercell.get_list() == expected


def test_the_protocols_differ_where_the_paper_says(siox_setup):
    """The settings of the published method reach the jobs: 50 Ry, XSPECTRA k 2x2x2, 4x4x4 cells, 4x4x3 quartz."""
    paper = SiOxDatasetWorkChain.get_builder_from_protocol(siox_setup['codes'], [1.0], [1], protocol='paper')
    fast = SiOxDatasetWorkChain.get_builder_from_protocol(siox_setup['codes'], [1.0], [1], protocol='fast')
    assert ecutwfc(paper.structure.xanes) == 50.0 and ecutwfc(fast.structure.xanes) == 25.0
    assert ecutwfc(paper.structure.bader) == 50.0 and ecutwfc(fast.structure.bader) == 30.0
    assert paper.structure.xanes.xspectra.kpoints.get_kpoints_mesh()[0] == [2, 2, 2]
    assert paper.structure.supercell.value == 4 and paper.quartz.supercell.get_list() == [4, 4, 3]
    assert fast.quartz.supercell.get_list() == [1, 1, 1] and fast.quartz.target_ev.value == 1846.0
    assert paper.training.job.config['paper_mode'] is True and fast.training.job.config['paper_mode'] is False


def test_overrides_reach_the_child_they_name(siox_setup):
    overrides = {
        'max_concurrent_structures': 3,
        'structure': {'supercell': 3, 'xanes': {'scf': {'ecutwfc': 31.0}, 'alignment': 'xch'}, 'bader': {'tolerance': 0.2}},
        'training': {'charge_epochs': 7},
    }
    builder = SiOxDatasetWorkChain.get_builder_from_protocol(siox_setup['codes'], [1.0], [1], protocol='fast', overrides=overrides)
    assert builder.max_concurrent_structures.value == 3 and builder.structure.supercell.value == 3
    assert ecutwfc(builder.structure.xanes) == 31.0 and ecutwfc(builder.structure.bader) == 30.0  # Bader keeps its own
    assert builder.structure.xanes.alignment.value == 'xch'
    assert builder.structure.bader.bader.tolerance.value == 0.2
    assert builder.training.job.config['charge_epochs'] == 7 and builder.training.job.config['rdf_epochs'] == 40


def test_job_options_reach_every_job(siox_setup):
    options = {'queue_name': 'cpu', 'max_wallclock_seconds': 7200}
    builder = SiOxDatasetWorkChain.get_builder_from_protocol(
        siox_setup['codes'], [1.0], [1], protocol='fast', options=options, training_options={'queue_name': 'gpu'}
    )
    mpi = [builder.structure.md.lammps, builder.structure.xanes.scf.pw, builder.structure.bader.scf.pw]  # a site's one job: scf's
    assert all(job.metadata.options['queue_name'] == 'cpu' and job.metadata.options['withmpi'] for job in mpi)
    bader = builder.structure.bader.bader.metadata.options
    assert bader['withmpi'] is False and bader['max_wallclock_seconds'] == 7200  # serial jobs inherit the wall time
    assert builder.training.job.metadata.options['queue_name'] == 'gpu'


def test_missing_codes_and_auto_cell_without_a_length_are_clear_errors(siox_setup):
    codes = {key: value for key, value in siox_setup['codes'].items() if key != 'xspectra'}
    with pytest.raises(ValueError, match=r"needs codes \['xspectra'\]"):
        SiteXanesWorkChain.get_builder_from_protocol(codes)
    with pytest.raises(ValueError, match='production cell length'):
        calibration_supercell('auto')


def test_a_stage_alone_from_its_protocol_is_complete(siox_setup):
    """One stage without its parent: the builder only lacks what the caller must give (the structure)."""
    from aiida_siox.calculations.structure_edit import alpha_quartz

    builder = SiteXanesWorkChain.get_builder_from_protocol(siox_setup['codes'], alpha_quartz(), protocol='fast')
    assert isinstance(builder.structure, orm.StructureData) and 'calibration' not in builder
    assert builder.core_hole_pseudo.element == 'Si' and builder.alignment.value == 'fch'
    quartz = QuartzCalibrationWorkChain.get_builder_from_protocol(siox_setup['codes'], protocol='moderate', production_cell_length=16.0)
    assert quartz.supercell.get_list() == calibration_supercell('auto', 16.0) and min(quartz.supercell.get_list()) >= 3


def test_auto_windows_follow_the_cores_of_the_codes_computer(siox_setup):
    """`auto` (the default): one job at a time on this 2-core localhost; 2 structures x 4 sites on a 16-core one."""
    codes = siox_setup['codes']
    local = SiOxDatasetWorkChain.get_builder_from_protocol(codes, [1.0], [1], protocol='fast', train=False)
    cpus = len(os.sched_getaffinity(0))  # `siox setup`: the localhost's cores are the CPUs this process may use
    assert codes['pw'].computer.get_default_mpiprocs_per_machine() == cpus
    jobs = max(1, cpus // 2)  # 2-rank jobs
    expected = (1, jobs) if jobs < 8 else (jobs // 4, jobs // (jobs // 4))
    assert (local.max_concurrent_structures.value, local.structure.xanes.max_concurrent_sites.value) == expected
    big = orm.Computer(
        label='sixteen-cores', hostname='localhost', transport_type='core.local', scheduler_type='core.direct', workdir='/tmp/sixteen'
    ).store()
    big.set_default_mpiprocs_per_machine(16)
    on_big = {
        name: orm.InstalledCode(
            label=code.label,
            computer=big,
            filepath_executable=str(code.filepath_executable),
            default_calc_job_plugin=code.default_calc_job_plugin,
        ).store()
        for name, code in codes.items()
    }
    dataset = SiOxDatasetWorkChain.get_builder_from_protocol(on_big, [1.0], [1], protocol='fast', train=False)
    assert (dataset.max_concurrent_structures.value, dataset.structure.xanes.max_concurrent_sites.value) == (2, 4)
    assert SiteXanesWorkChain.get_builder_from_protocol(on_big, protocol='fast').max_concurrent_sites.value == 8  # alone: every slot
    paper = SiOxDatasetWorkChain.get_builder_from_protocol(on_big, [1.0], [1], protocol='paper', train=False)
    assert (paper.max_concurrent_structures.value, paper.structure.xanes.max_concurrent_sites.value) == (10, 20)  # explicit numbers
