"""SiteXanesWorkChain with real pw.x + xspectra.x: throttle, a failing site, rerun of the failed
site only, a calibration of another alignment form refused, and the provenance/status commands on the
result. The Si(0)/Si(4+) chemical shift with a real calibration is tests/test_alignment.py.

Cells: alpha-quartz (9 atoms, 3 Si4+ sites) and c-Si (8-atom cubic cell, Si0 sites), `fast` protocol.
"""

import contextlib
import itertools

import numpy as np
import pytest
from aiida import orm
from click.testing import CliRunner
from local_runner import run_get_node

from aiida_siox.analysis.spectrum import ML_GRID
from aiida_siox.calculations.structure_edit import alpha_quartz
from aiida_siox.workflows.rerun_failed import link_rerun, rerun_builder
from aiida_siox.workflows.site_xanes import SiteXanesWorkChain

pytestmark = pytest.mark.codes

#: An impossible input for one site only: pw.x stops at once with "too few bands".
TOO_FEW_BANDS = {'scf_parameters': {'SYSTEM': {'nbnd': 2}}}


@pytest.fixture(scope='module')
def xanes_inputs(siox_setup):
    # A fixed calibration node: these tests are about sites, not about the quartz constant.
    calibration = orm.Dict({'constant_ev': 1900.0, 'target_ev': 1846.0, 'alignment': 'fch'}).store()
    return dict(SiteXanesWorkChain.get_builder_from_protocol(siox_setup['codes'], protocol='fast', calibration=calibration))


@pytest.fixture(scope='module')
def quartz_with_failed_site(xanes_inputs):
    """Three quartz sites, one at a time (K = 1), site 1 made to fail."""
    inputs = {
        **xanes_inputs,
        'max_concurrent_sites': orm.Int(1),
        'site_overrides': orm.Dict({'1': TOO_FEW_BANDS}),
    }
    results, node = run_get_node(SiteXanesWorkChain, structure=alpha_quartz(), sites=orm.List([0, 1, 2]), **inputs)
    return results, node


def test_failed_site_leaves_the_others_done(quartz_with_failed_site):
    results, node = quartz_with_failed_site
    assert node.exit_status == SiteXanesWorkChain.exit_codes.WARNING_SOME_SITES_FAILED.status
    assert sorted(results['raw_spectra']) == ['site_0', 'site_2']
    assert list(results['failed_sites'].get_dict()) == ['1']
    for spectrum in results['aligned_spectra'].values():
        energy, intensity = spectrum.get_x()[1], spectrum.get_y()[0][1]
        assert np.allclose(energy, ML_GRID) and np.all(np.isfinite(intensity)) and intensity.max() > 0


def test_throttle_one_site_at_a_time(quartz_with_failed_site):
    _, node = quartz_with_failed_site
    sites = sorted((n for n in node.called if n.process_label == 'SiteSpectrumWorkChain'), key=lambda n: n.ctime)
    assert len(sites) == 3
    for earlier, later in itertools.pairwise(sites):
        assert later.ctime >= earlier.mtime, f'<{later.pk}> started before <{earlier.pk}> ended'


def test_rerun_failed_options_become_the_reruns_site_overrides_and_throttle(quartz_with_failed_site, aiida_profile, monkeypatch):
    """`siox rerun-failed --walltime --mixing-beta --max-concurrent-sites`: what it submits, and the link it records.

    The test profile has no broker, so the builder is caught where `submit` would send it to the
    daemon (the daemon's own submission is aiida's); the rerun itself runs in the next test.
    """
    from aiida_siox.cli import siox
    from aiida_siox.graph import RERUN_BY, RERUN_OF

    _, node = quartz_with_failed_site
    assert RERUN_BY not in node.base.extras.keys()  # this test runs before the real rerun of the next one
    submitted, caught = [], orm.WorkflowNode().store()

    def catch(builder):
        submitted.append(builder)
        return caught

    monkeypatch.setattr('aiida.engine.submit', catch)
    options = ['--walltime', '7200', '--mixing-beta', '0.2', '--max-concurrent-sites', '2']
    try:
        result = CliRunner().invoke(siox, ['rerun-failed', str(node.pk), *options, '-p', aiida_profile.name])
        assert result.exit_code == 0, result.output
        assert len(submitted) == 1 and f'reruns sites [1] of <{node.pk}>' in result.output
        builder = submitted[0]
        assert builder.site_overrides.get_dict() == {
            '1': {'scf_parameters': {'ELECTRONS': {'mixing_beta': 0.2}}, 'options': {'max_wallclock_seconds': 7200}}
        }  # only the failed site, and its old "too few bands" override replaced
        assert builder.max_concurrent_sites.value == 2 and builder.ground_state.uuid == node.outputs.ground_state.uuid
        assert sorted(builder.previous.raw_spectra) == ['site_0', 'site_2']
        assert node.base.extras.get(RERUN_BY) == caught.uuid and caught.base.extras.get(RERUN_OF) == node.uuid
    finally:  # the caught rerun never ran: the next test reruns this node for real
        if node.base.extras.get(RERUN_BY, None) == caught.uuid:
            node.base.extras.delete(RERUN_BY)


def test_rerun_failed_computes_only_the_failed_site(quartz_with_failed_site, aiida_profile):
    from aiida_siox.cli import siox

    results, node = quartz_with_failed_site
    from aiida_siox.cli.status import site_rows

    assert {row['site']: row['state'] for row in site_rows(node)} == {0: 'done', 1: 'failed', 2: 'done'}
    status = CliRunner().invoke(siox, ['status', str(node.pk), '-p', aiida_profile.name])
    assert status.exit_code == 0 and 'Failed sites' in status.output, status.output

    dry = CliRunner().invoke(siox, ['rerun-failed', str(node.pk), '--dry-run', '-p', aiida_profile.name])
    assert dry.exit_code == 0 and f'would rerun sites [1] of SiteXanesWorkChain<{node.pk}>' in dry.output

    builder = rerun_builder(node)
    assert 'site_overrides' not in builder  # the override that broke site 1 is not carried over
    pw_calcs_before = orm.QueryBuilder().append(orm.CalcJobNode).count()
    rerun_results, rerun = run_get_node(builder)
    link_rerun(node, rerun)
    assert rerun.is_finished_ok, rerun.exit_message
    # the finished sites are the very same nodes; only site 1 ran
    for key in ('site_0', 'site_2'):
        assert rerun_results['raw_spectra'][key].uuid == results['raw_spectra'][key].uuid
        assert rerun_results['aligned_spectra'][key].uuid == results['aligned_spectra'][key].uuid
    assert rerun_results['raw_spectra']['site_1'].creator.caller.caller.pk == rerun.pk
    called = [n.process_label for n in rerun.called]
    assert called == ['SiteSpectrumWorkChain']  # no ground-state SCF, one site
    new_calcs = orm.QueryBuilder().append(orm.CalcJobNode).count() - pw_calcs_before
    assert new_calcs == 1  # one job: the core-hole pw.x and xspectra.x for x, y, z

    rows = site_rows(node)  # follows the rerun: the newest state of every site
    assert {row['site']: (row['state'], row['xanes']) for row in rows} == {s: ('done', rerun.pk) for s in (0, 1, 2)}
    assert [row['note'] for row in rows] == ['reused from an earlier run', 'computed', 'reused from an earlier run']
    status = CliRunner().invoke(siox, ['status', str(node.pk), '--sites', '-p', aiida_profile.name])
    assert status.exit_code == 0 and 'Failed sites' not in status.output and 'reused from an earlier run' in status.output


class _Counter:
    count = 0


@contextlib.contextmanager
def count_sql_statements():
    """Count the SQL statements the profile's storage executes inside the block."""
    from aiida.manage import get_manager
    from sqlalchemy import event

    engine = get_manager().get_profile_storage().get_session().bind
    counter = _Counter()

    def count(*_args, **_kwargs) -> None:
        counter.count += 1

    event.listen(engine, 'before_cursor_execute', count)
    try:
        yield counter
    finally:
        event.remove(engine, 'before_cursor_execute', count)


def test_provenance_names_structure_site_and_alignment(quartz_with_failed_site, aiida_profile):
    from aiida_siox.cli import siox
    from aiida_siox.provenance import spectrum_provenance

    results, node = quartz_with_failed_site
    spectrum = results['aligned_spectra']['site_2']
    with count_sql_statements() as statements:
        chain = spectrum_provenance(spectrum)
    # One batched query per level of the chain (a walk through node.inputs.<label> made ~470 statements).
    assert statements.count <= 25, statements.count
    assert chain['site'] == {'index': 2, 'n_o': 4, 'n_si': 0, 'class': '[SiO4]'}
    assert chain['structure']['uuid'] == node.inputs.structure.uuid
    assert chain['alignment']['calibration_constant_ev'] == 1900.0
    assert chain['alignment']['delta_scf_ev'] == pytest.approx(results['delta_scf']['site_2'].value)
    assert chain['core_hole_scf']['parameters']['SYSTEM']['tot_charge'] == 1.0
    assert chain['core_hole_scf']['code_version']
    assert set(chain['core_hole_scf']['pseudos']) == {'Si', 'SiX', 'O'}  # the absorber carries the core-hole pseudopotential
    # the xspectra runs: xspectra's code and parameters, and the xe0 the site job set (not pw.x's output)
    xspectra = chain['xspectra']['x']
    assert xspectra['code'].startswith('xspectra@') and 'code_version' not in xspectra
    assert xspectra['parameters']['INPUT_XSPECTRA']['xiabs'] >= 1
    assert xspectra['energy_zero_ev'] == pytest.approx(chain['alignment']['energy_zero_ev'])
    assert chain['alignment']['form'] == 'fch' and chain['alignment']['energy_zero_ev'] == pytest.approx(
        results['alignments']['site_2']['energy_zero_ev']
    )
    result = CliRunner().invoke(siox, ['provenance', str(spectrum.pk), '-p', aiida_profile.name])
    assert result.exit_code == 0, result.output
    assert 'site            2: [SiO4]' in result.output and 'C = 1900.0000 eV' in result.output
    assert 'alignment       fch; xspectra E0' in result.output
    assert f'xspectra@localhost; E0 = {xspectra["energy_zero_ev"]:.4f} eV' in result.output
    wrong = CliRunner().invoke(siox, ['provenance', str(node.inputs.structure.pk), '-p', aiida_profile.name])
    assert wrong.exit_code == 1 and 'give a site spectrum' in wrong.output


def test_calibration_of_another_form_is_refused_before_any_job(xanes_inputs):
    """A calibration made without xspectra's energy zero (or for the xch form) cannot align fch spectra."""
    before = orm.QueryBuilder().append(orm.CalcJobNode).count()
    for calibration in ({'constant_ev': 1900.0, 'target_ev': 1846.0}, {'constant_ev': 1900.0, 'alignment': 'xch'}):
        inputs = {**xanes_inputs, 'calibration': orm.Dict(calibration).store()}
        _, node = run_get_node(SiteXanesWorkChain, structure=alpha_quartz(), sites=orm.List([0]), **inputs)
        assert node.exit_status == SiteXanesWorkChain.exit_codes.ERROR_CALIBRATION_MISMATCH.status
        assert 'siox realign' in node.exit_message
    assert orm.QueryBuilder().append(orm.CalcJobNode).count() == before


def test_the_site_job_gives_separate_jobs_spectra_and_sets_xe0_mid_gap(quartz_with_failed_site):
    """The site's one job (CoreHoleXspectraCalculation: pw.x, the xe0 step, three xspectra.x runs) against
    three separate xspectra.x jobs on its own SCF with the xe0 it set: the same spectra and energy zero.
    The xe0 the job's step read from pw.x's XML is the mid-gap of the job's parsed bands, and it is the
    energy zero of the site's alignment."""
    from aiida.plugins import CalculationFactory

    from aiida_siox.analysis.spectrum import occupation_cut_energy

    XspectraCalculation = CalculationFactory('xspec.xspectra')
    results, node = quartz_with_failed_site
    site = next(n for n in node.called if n.process_label == 'SiteSpectrumWorkChain' and n.inputs.site.value == 2)
    jobs = sorted(n.process_label for n in site.called_descendants if isinstance(n, orm.CalcJobNode))
    assert jobs == ['CoreHoleXspectraCalculation'], jobs
    job = next(n for n in site.called_descendants if n.process_label == 'CoreHoleXspectraCalculation')
    assert job.is_finished_ok and sorted(job.outputs.spectra) == ['x', 'y', 'z']
    raw = site.outputs.raw.creator
    assert {raw.inputs[f'spectrum_{name}'].uuid for name in 'xyz'} == {job.outputs.spectra[name].uuid for name in 'xyz'}
    assert raw.inputs.core_hole_parameters.uuid == job.outputs.output_parameters.uuid
    # one job: pw.x, then the xe0 step, then xspectra.x three times, each with its own input
    script = job.base.repository.get_object_content('_aiidasubmit.sh')
    assert script.count('pw.x') == 1 and script.count('scf_levels.py') == 1 and script.count('xspectra.x') == 3
    assert script.index('pw.x') < script.index('scf_levels.py') < script.index('xspectra.x')
    bands = job.outputs.output_band
    xe0 = job.outputs.xspectra_parameters['xe0']
    assert xe0 == pytest.approx(occupation_cut_energy(bands.get_bands(), bands.get_array('occupations')), abs=1e-9)
    assert results['alignments']['site_2']['energy_zero_ev'] == pytest.approx(xe0, abs=1e-12)

    options = {'resources': {'num_machines': 1, 'num_mpiprocs_per_machine': 2}}
    for axis, name in enumerate('xyz'):
        parameters = job.inputs.xspectra.parameters.get_dict()
        parameters['INPUT_XSPECTRA'].update(xepsilon=[float(axis == i) for i in range(3)], xe0=xe0)
        parameters['INPUT_XSPECTRA'].pop('time_limit', None)
        inputs = {
            'code': job.inputs.xspectra.code,
            'parent_folder': job.outputs.remote_folder,
            'core_wfc_data': job.inputs.xspectra.core_wavefunction,
            'kpoints': job.inputs.xspectra.kpoints,
        }
        separate_results, separate = run_get_node(
            XspectraCalculation, **inputs, parameters=orm.Dict(parameters), metadata={'options': options}
        )
        assert separate.is_finished_ok, (separate.exit_status, separate.exit_message)
        reference, spectrum = separate_results['spectra'], job.outputs.spectra[name]
        assert np.allclose(spectrum.get_x()[1], reference.get_x()[1])
        assert np.allclose(spectrum.get_y()[0][1], reference.get_y()[0][1], rtol=1e-6, atol=1e-12), name
        assert job.outputs.xspectra_parameters['polarisations'][name]['xepsilon'] == parameters['INPUT_XSPECTRA']['xepsilon']
        printed = separate_results['output_parameters']
        shared = [key for key in ('energy_zero', 'fermi_energy', 'core_level_energy') if key in printed.keys()]
        assert shared and all(float(job.outputs.xspectra_parameters[key]) == pytest.approx(float(printed[key])) for key in shared)


def test_a_failed_xspectra_run_fails_the_site_with_420_and_is_not_run_again(xanes_inputs):
    """The SCF of the site's job converges, then xspectra.x stops on an input it cannot read: the job ends at that
    run (nothing after it runs), its restart workchain does not launch the same input again, and the site fails
    with the xspectra status while the structure's other outputs (the ground state) stay."""
    parameters = xanes_inputs['xspectra']['parameters'].get_dict()
    parameters['CUT_OCC']['not_an_xspectra_keyword'] = 1.0
    inputs = {**xanes_inputs, 'xspectra': {**xanes_inputs['xspectra'], 'parameters': orm.Dict(parameters)}}
    results, node = run_get_node(SiteXanesWorkChain, structure=alpha_quartz(), sites=orm.List([0]), **inputs)
    assert node.exit_status == SiteXanesWorkChain.exit_codes.ERROR_ALL_SITES_FAILED.status
    assert 'ground_state' in results
    site = next(n for n in node.called if n.process_label == 'SiteSpectrumWorkChain')
    assert site.exit_status == site.process_class.exit_codes.ERROR_XSPECTRA_FAILED.status == 420
    jobs = [n for n in site.called_descendants if isinstance(n, orm.CalcJobNode)]
    assert len(jobs) == 1, [job.process_label for job in jobs]  # not launched again
    job = jobs[0]
    assert job.exit_status == job.process_class.exit_codes.ERROR_XSPECTRA_FAILED.status == 602
    assert 'polarisation x' in job.exit_message
    assert job.outputs.output_parameters['energy'] < 0  # the SCF part finished and was parsed
    retrieved = job.outputs.retrieved.base.repository.list_object_names()
    assert 'aiida_x.out' in retrieved and 'aiida_y.out' not in retrieved  # `set -e`: the failed run ended the job


def test_a_scheduler_kill_in_the_xspectra_part_keeps_the_schedulers_exit_code(quartz_with_failed_site, tmp_path):
    """A job stopped by the scheduler (wall time) during its y run: the scheduler's 120 stands, which the restart loop
    runs again with more time, not the 601 of the cut-off output, which ends the site. Without the scheduler's word
    the same files give 601. Real files of the fixture's site job, y and z removed as a kill leaves them."""
    from aiida.common.links import LinkType

    from aiida_siox.calculations.xspectra_polarisations import output_filename, spectrum_filename
    from aiida_siox.parsers.core_hole_xspectra import CoreHoleXspectraParser

    _, node = quartz_with_failed_site
    job = next(n for n in node.called_descendants if n.process_label == 'CoreHoleXspectraCalculation' and n.is_finished_ok)
    job.outputs.retrieved.base.repository.copy_tree(tmp_path / 'retrieved')
    for name in ('y', 'z'):
        for path in (output_filename(name), spectrum_filename(name)):
            (tmp_path / 'retrieved' / path).unlink()

    def parse_cut_job(scheduler_exit_status: int | None):
        cut = orm.CalcJobNode(computer=job.computer, process_type=job.process_type)
        state = ('exit_status', 'exit_message', 'process_state', 'process_status', 'sealed')
        cut.base.attributes.set_many({key: value for key, value in job.base.attributes.all.items() if key not in state})
        for link in job.base.links.get_incoming(link_type=LinkType.INPUT_CALC).all():
            cut.base.links.add_incoming(link.node, link_type=LinkType.INPUT_CALC, link_label=link.link_label)
        cut.store()
        if scheduler_exit_status is not None:
            cut.set_exit_status(scheduler_exit_status)
        retrieved = orm.FolderData()
        retrieved.base.repository.put_object_from_tree(tmp_path / 'retrieved')
        retrieved.base.links.add_incoming(cut, link_type=LinkType.CREATE, link_label='retrieved')
        retrieved.store()
        parser = CoreHoleXspectraParser(cut)
        return parser, parser.parse(retrieved_temporary_folder=str(tmp_path))

    parser, exit_code = parse_cut_job(None)
    assert exit_code.status == job.process_class.exit_codes.ERROR_XSPECTRA_OUTPUT_MISSING.status and 'polarisation y' in exit_code.message
    assert 'output_parameters' in parser.outputs  # pw.x's part is kept
    parser, exit_code = parse_cut_job(job.process_class.exit_codes.ERROR_SCHEDULER_OUT_OF_WALLTIME.status)
    assert exit_code.status == 120
    assert 'output_parameters' in parser.outputs and list(parser.outputs['xspectra_parameters']['polarisations']) == ['x']


def test_the_ground_state_runs_the_gamma_point_code_and_the_core_hole_scf_does_not(quartz_with_failed_site):
    """pw.x's Gamma code for the ground state (only its energy is used), not for the core-hole SCF that xspectra.x reads."""
    _, node = quartz_with_failed_site
    calcs = {n.process_label: n for n in node.called_descendants if isinstance(n, orm.CalcJobNode) and n.is_finished_ok}

    def k_points_card(calc):
        text = calc.base.repository.get_object_content('aiida.in')
        return text[text.index('K_POINTS') :].splitlines()[0]

    assert k_points_card(calcs['PwCalculation']) == 'K_POINTS gamma'
    assert k_points_card(calcs['CoreHoleXspectraCalculation']) == 'K_POINTS automatic'
