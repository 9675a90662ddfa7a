"""Bad input refused with a message that names it, before any job runs (no program is started here).

The workchains are launched for real on the test profile; the codes and pseudopotential families are
the real ones of `siox setup`, which is why this module is marked `codes`. Each test also checks that
no CalcJob was created: a refusal must cost nothing.
"""

import pytest
from aiida import orm
from local_runner import run_get_node

from aiida_siox.calculations.structure_edit import alpha_quartz
from aiida_siox.workflows.dataset import SiOxDatasetWorkChain
from aiida_siox.workflows.site_xanes import SiteXanesWorkChain

pytestmark = pytest.mark.codes


@pytest.fixture
def no_new_jobs(aiida_profile):
    """Fails the test if it created any CalcJob."""
    before = orm.QueryBuilder().append(orm.CalcJobNode).count()
    yield
    assert orm.QueryBuilder().append(orm.CalcJobNode).count() == before, 'a job ran for input that should have been refused'


@pytest.fixture(scope='module')
def quartz_builder(siox_setup):
    calibration = orm.Dict({'constant_ev': 1900.0, 'target_ev': 1846.0, 'alignment': 'fch'}).store()
    return lambda: SiteXanesWorkChain.get_builder_from_protocol(
        siox_setup['codes'], alpha_quartz(), protocol='fast', calibration=calibration
    )


def test_sites_that_are_not_silicon_exit_300(quartz_builder, no_new_jobs):
    builder = quartz_builder()
    builder.sites = orm.List([0, 5])  # alpha-quartz: atoms 0-2 are Si, 3-8 are O
    _, node = run_get_node(builder)
    assert node.exit_status == SiteXanesWorkChain.exit_codes.ERROR_INVALID_SITES.status == 300
    assert node.exit_message == 'Sites [5] are not Si atoms of the structure.'


def test_a_ground_state_of_another_structure_exits_301(quartz_builder, no_new_jobs):
    builder = quartz_builder()
    builder.sites = orm.List([0])
    builder.ground_state = orm.Dict({'energy': -1.0}).store()  # made by no SCF of this structure
    _, node = run_get_node(builder)
    assert node.exit_status == SiteXanesWorkChain.exit_codes.ERROR_GROUND_STATE_MISMATCH.status == 301
    assert 'computed for another structure' in node.exit_message


@pytest.mark.parametrize(
    ('overrides', 'message'),
    [
        ({'one': {}}, 'site_overrides keys must be site indices such as "3", got \'one\''),
        ({'1': {'kpoints': [2, 2, 2]}}, "site_overrides['1'] may only hold ['options', 'scf_parameters']"),
        ({'1': 0.2}, "site_overrides['1'] may only hold"),
    ],
)
def test_bad_site_overrides_are_named(quartz_builder, overrides, message):
    builder = quartz_builder()
    with pytest.raises(ValueError, match=message.replace('[', r'\[').replace(']', r'\]')):
        builder.site_overrides = orm.Dict(overrides)


@pytest.mark.parametrize('sites', [[], [-1], [0.5]])
def test_bad_site_lists_are_refused(quartz_builder, sites):
    with pytest.raises(ValueError, match='sites must be a non-empty list of non-negative atom indices'):
        quartz_builder().sites = orm.List(sites)


@pytest.mark.parametrize(
    ('port', 'value', 'message'),
    [
        ('compositions', [], r'compositions must be a non-empty list of x values in \[0, 2\], got \[\]'),
        ('compositions', [1.0, 2.5], r'got \[1.0, 2.5\]'),
        ('seeds', [1, 1], r'seeds must be distinct positive integers, got \[1, 1\]'),
        ('seeds', [0], r'seeds must be distinct positive integers, got \[0\]'),
    ],
)
def test_dataset_refuses_bad_compositions_and_seeds(siox_setup, port, value, message):
    builder = SiOxDatasetWorkChain.get_builder_from_protocol(siox_setup['codes'], [1.0], [1], protocol='fast')
    with pytest.raises(ValueError, match=message):
        setattr(builder, port, orm.List(value))


def test_dataset_refuses_a_calibration_of_another_form(siox_setup, no_new_jobs):
    old = orm.Dict({'constant_ev': 1897.0, 'target_ev': 1846.0}).store()  # made before E0 was in the alignment
    builder = SiOxDatasetWorkChain.get_builder_from_protocol(siox_setup['codes'], [1.0], [1], protocol='fast', calibration=old)
    with pytest.raises(ValueError, match=f'calibration <{old.pk}> was made for the none alignment form, the sites use fch'):
        run_get_node(builder)


def test_missing_codes_are_named(siox_setup):
    codes = {key: code for key, code in siox_setup['codes'].items() if key not in ('lmp', 'pp')}
    with pytest.raises(ValueError, match=r"needs codes \['lmp', 'pp'\]: run `siox setup`"):
        SiOxDatasetWorkChain.get_builder_from_protocol(codes, [1.0], [1], protocol='fast')


def test_dataset_needs_something_to_compute(siox_setup, no_new_jobs):
    builder = SiOxDatasetWorkChain.get_builder_from_protocol(siox_setup['codes'], [1.0], [1], protocol='fast', train=False)
    del builder.seeds
    with pytest.raises(ValueError, match='give `compositions` and `seeds` together'):
        run_get_node(builder)
    del builder.compositions
    with pytest.raises(ValueError, match='nothing to compute: give `compositions` and `seeds`, or `cells`'):
        run_get_node(builder)


def test_structure_needs_x_or_a_structure_not_both(siox_setup, no_new_jobs):
    from aiida_siox.workflows.structure_pipeline import SiOxStructureWorkChain

    builder = SiOxStructureWorkChain.get_builder_from_protocol(siox_setup['codes'], x=1.0, seed=1, protocol='fast')
    builder.structure = alpha_quartz()
    with pytest.raises(ValueError, match=r'give either a composition `x`.* or a `structure`, not both'):
        run_get_node(builder)
    del builder.structure
    del builder.x
    with pytest.raises(ValueError, match='give either a composition `x`'):
        run_get_node(builder)


def test_unknown_start_density_is_named(siox_setup):
    from aiida_siox.workflows.structure_pipeline import SiOxStructureWorkChain

    builder = SiOxStructureWorkChain.get_builder_from_protocol(siox_setup['codes'], x=1.0, seed=1, protocol='reference')
    assert builder.start_density.value == 'reference'
    with pytest.raises(ValueError, match="start_density must be one of lattice, reference, got 'paper'"):
        builder.start_density = orm.Str('paper')


def test_remote_cubes_need_the_bader_job_on_their_computer(siox_setup, no_new_jobs):
    from aiida_siox.workflows.bader import BaderWorkChain, validate_cubes_stay_remote

    elsewhere = orm.Computer(
        label='elsewhere', hostname='localhost', transport_type='core.local', scheduler_type='core.direct', workdir='/tmp/elsewhere'
    ).store()
    python = siox_setup['codes']['python']
    remote_python = orm.InstalledCode(label='python-elsewhere', computer=elsewhere, filepath_executable=str(python.filepath_executable))
    builder = BaderWorkChain.get_builder_from_protocol(siox_setup['codes'], alpha_quartz(), protocol='reference')
    assert builder.keep_cubes.value is False
    builder.bader.code = remote_python.store()
    with pytest.raises(ValueError, match=r'keep_cubes is False, so the Bader job must run where pp\.x leaves the cubes'):
        run_get_node(builder)
    inputs = {'pp_code': builder.pp_code, 'bader': {'code': builder.bader.code}}
    assert validate_cubes_stay_remote({**inputs, 'keep_cubes': orm.Bool(True)}, None) is None  # the cubes travel in the repository
    assert 'must run where pp.x leaves the cubes' in validate_cubes_stay_remote({**inputs, 'keep_cubes': orm.Bool(False)}, None)
