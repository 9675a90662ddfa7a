"""Failure paths with real programs: a stage whose program fails for real ends its workchain with the
documented exit code, names the cause, keeps what finished, and starts nothing after it.

Each failure is an input that the program itself rejects, not a fake: pw.x stops at once with "too
few bands" (``nbnd`` 2), LAMMPS stops on a Tersoff file it cannot read, the real Bader partition is
held to an impossible charge-conservation tolerance, and a training job on one structure cannot split
it into training and test structures. Cells: alpha-quartz (9 atoms), `fast` protocol.
"""

from __future__ import annotations

import io

import pytest
from aiida import orm
from local_runner import run_get_node

from aiida_siox.calculations.bader import BaderCalculation
from aiida_siox.calculations.structure_edit import alpha_quartz
from aiida_siox.workflows.bader import BaderWorkChain
from aiida_siox.workflows.dataset import SiOxDatasetWorkChain
from aiida_siox.workflows.quartz_calibration import QuartzCalibrationWorkChain
from aiida_siox.workflows.site_xanes import SiteXanesWorkChain, merge_nested
from aiida_siox.workflows.structure_pipeline import SiOxStructureWorkChain
from aiida_siox.workflows.training import TrainingWorkChain

pytestmark = pytest.mark.codes

TOO_FEW_BANDS = {'SYSTEM': {'nbnd': 2}}


def calibration() -> orm.Dict:
    """A fixed calibration: these tests are about failures, not about the quartz constant."""
    return orm.Dict({'constant_ev': 1900.0, 'target_ev': 1846.0, 'alignment': 'fch'})


def too_few_bands(pw_namespace) -> None:
    """Make every pw.x run of this namespace stop at once with "too few bands"."""
    pw_namespace.parameters = orm.Dict(merge_nested(pw_namespace.parameters.get_dict(), TOO_FEW_BANDS))


def called(node: orm.ProcessNode, label: str) -> list[orm.ProcessNode]:
    return [child for child in node.called_descendants if child.process_label == label]


def xspectra_ran(node: orm.ProcessNode) -> bool:
    """Whether any site job under ``node`` got as far as xspectra.x (its x run's output was retrieved)."""
    jobs = called(node, 'CoreHoleXspectraCalculation')
    return any('aiida_x.out' in job.outputs.retrieved.base.repository.list_object_names() for job in jobs if 'retrieved' in job.outputs)


def only(node: orm.ProcessNode, label: str) -> orm.ProcessNode:
    children = [child for child in node.called if child.process_label == label]
    assert len(children) == 1, f'{node.process_label}<{node.pk}> called {len(children)} {label}'
    return children[0]


def test_a_potential_lammps_rejects_fails_the_structure_and_leaves_the_dataset_nothing(siox_setup):
    unreadable = orm.SinglefileData(io.BytesIO(b'Si Si Si this is not a Tersoff line\n'), filename='SiO.tersoff')
    builder = SiOxDatasetWorkChain.get_builder_from_protocol(
        siox_setup['codes'], [1.0], [1], protocol='fast', calibration=calibration(), train=False, potential=unreadable
    )
    _, node = run_get_node(builder)
    assert node.exit_status == SiOxDatasetWorkChain.exit_codes.ERROR_ALL_STRUCTURES_FAILED.status == 402
    assert 'dataset' not in node.outputs and not called(node, 'assemble_dataset')
    structure = only(node, 'SiOxStructureWorkChain')
    md = only(structure, 'MeltQuenchWorkChain')
    assert structure.exit_status == SiOxStructureWorkChain.exit_codes.ERROR_MD_FAILED.status == 400
    assert structure.exit_message == f'The melt-quench failed with exit status {md.exit_status}.' and not md.is_finished_ok
    jobs = called(md, 'LammpsRawCalculation')
    assert jobs and all(job.exit_status == jobs[0].exit_status != 0 for job in jobs)  # LAMMPS itself stopped
    output = jobs[0].outputs.retrieved.base.repository.get_object_content(jobs[0].get_option('output_filename'))
    assert 'ERROR' in output and 'tersoff potential file' in output, output[-500:]
    assert not called(node, 'PwCalculation'), 'DFT ran on a structure that has no melt-quench'


def test_a_failed_calibration_stops_the_dataset_before_any_structure(siox_setup):
    builder = SiOxDatasetWorkChain.get_builder_from_protocol(siox_setup['codes'], [1.0], [1], protocol='fast', train=False)
    too_few_bands(builder.structure.xanes.scf.pw)  # the calibration runs with the sites' own settings
    _, node = run_get_node(builder)
    quartz = only(node, 'QuartzCalibrationWorkChain')
    xanes = only(quartz, 'SiteXanesWorkChain')
    assert xanes.exit_status == SiteXanesWorkChain.exit_codes.ERROR_GROUND_STATE_FAILED.status == 400
    assert quartz.exit_status == QuartzCalibrationWorkChain.exit_codes.ERROR_QUARTZ_FAILED.status == 400
    assert quartz.exit_message == 'The alpha-quartz XANES run failed with exit status 400.'
    assert node.exit_status == SiOxDatasetWorkChain.exit_codes.ERROR_CALIBRATION_FAILED.status == 400
    assert node.exit_message == 'The alpha-quartz calibration failed with exit status 400.'
    assert not called(node, 'SiOxStructureWorkChain') and not called(node, 'CoreHoleXspectraCalculation')


def test_every_site_and_the_bader_scf_failing_fail_the_structure_with_the_xanes_status(siox_setup):
    builder = SiOxStructureWorkChain.get_builder_from_protocol(siox_setup['codes'], seed=1, protocol='fast', calibration=calibration())
    builder.structure = alpha_quartz()
    builder.xanes.site_overrides = orm.Dict({str(site): {'scf_parameters': TOO_FEW_BANDS} for site in range(3)})
    too_few_bands(builder.bader.scf.pw)
    results, node = run_get_node(builder)
    xanes, bader = only(node, 'SiteXanesWorkChain'), only(node, 'BaderWorkChain')
    assert xanes.exit_status == SiteXanesWorkChain.exit_codes.ERROR_ALL_SITES_FAILED.status == 402
    assert xanes.exit_message == 'All 2 sites failed.'  # the `fast` protocol's two sites per structure
    assert 'ground_state' in xanes.outputs and sorted(xanes.outputs.failed_sites.get_dict()) == sorted(map(str, node.outputs.sites))
    assert bader.exit_status == BaderWorkChain.exit_codes.ERROR_SCF_FAILED.status == 400
    assert not called(bader, 'PpCalculation'), 'pp.x ran on a failed SCF'
    assert node.exit_status == SiOxStructureWorkChain.exit_codes.ERROR_XANES_FAILED.status == 410
    assert node.exit_message == 'XANES failed for every site (exit status 402).'
    assert 'rows' not in results and 'rdfs' in results  # the RDFs need no DFT and are kept
    assert not xspectra_ran(node), 'xspectra.x ran on a failed SCF'


def test_a_bader_partition_that_fails_its_check_keeps_the_structures_spectra(siox_setup):
    builder = SiOxStructureWorkChain.get_builder_from_protocol(siox_setup['codes'], seed=1, protocol='fast', calibration=calibration())
    builder.structure = alpha_quartz()
    builder.sites_per_structure = orm.Int(1)
    builder.bader.bader.tolerance = orm.Float(1e-9)  # no real partition conserves the charge this closely
    results, node = run_get_node(builder)
    bader = only(node, 'BaderWorkChain')
    job = only(bader, 'BaderCalculation')
    assert job.exit_status == BaderCalculation.exit_codes.ERROR_CHARGE_NOT_CONSERVED.status == 320
    assert bader.exit_status == BaderWorkChain.exit_codes.ERROR_BADER_FAILED.status == 420
    assert bader.exit_message.startswith('The Bader job failed: Populations sum to')
    assert node.exit_status == SiOxStructureWorkChain.exit_codes.ERROR_BADER_FAILED.status == 420
    assert node.exit_message == 'The Bader stage failed with exit status 420.'
    assert list(results['xanes']['aligned_spectra']) == [f'site_{node.outputs.sites[0]}']  # XANES is not lost
    assert 'charges' not in results and 'rows' not in results


def test_a_training_that_fails_fails_the_dataset_after_the_dataset_is_stored(siox_setup):
    builder = SiOxDatasetWorkChain.get_builder_from_protocol(
        siox_setup['codes'], protocol='fast', calibration=calibration(), cells={'quartz': alpha_quartz()}
    )
    builder.structure.sites_per_structure = orm.Int(1)
    results, node = run_get_node(builder)
    training = only(node, 'TrainingWorkChain')
    assert training.exit_status == TrainingWorkChain.exit_codes.ERROR_TRAINING_SCRIPT.status == 410
    assert 'at least 2 are needed' in training.exit_message  # one structure cannot be split by structure
    assert node.exit_status == SiOxDatasetWorkChain.exit_codes.ERROR_TRAINING_FAILED.status == 410
    assert node.exit_message == 'The training job failed with exit status 410.'
    assert results['manifest']['n_rows'] == 1 and results['dataset'].get_array('spectra').shape == (1, 256)
