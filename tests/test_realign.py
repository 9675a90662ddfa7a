"""`siox realign` on a graph made by the code before xspectra's energy zero was part of the alignment.

tests/data/pre_e0_graph.aiida is a real archive made with that code (commit 673a008, `fast`
protocol): a QuartzCalibrationWorkChain (9-atom alpha-quartz) and a SiteXanesWorkChain on 8-atom
c-Si aligned with its calibration (E = E_xspectra + Delta-SCF + C). Realigning must recompute
nothing, use the stored energy zero of each xspectra run, and leave the old spectra marked.
"""

import pathlib
import re
import sys

import numpy as np
import pytest
from aiida import orm
from click.testing import CliRunner

from aiida_siox.analysis.spectrum import align_spectrum, calibration_constant, main_peak_energy

ARCHIVE = pathlib.Path(__file__).parent / 'data' / 'pre_e0_graph.aiida'


@pytest.fixture(scope='module')
def old_graph(aiida_profile):
    from aiida.tools.archive import import_archive
    from aiida.tools.archive.abstract import get_format

    # The profile is shared by the whole session: find the run by the archive's own UUIDs, not by type.
    with get_format().open(ARCHIVE, 'r') as reader:
        query = reader.querybuilder().append(orm.WorkflowNode, filters={'process_type': 'aiida.workflows:siox.site_xanes'}, project='uuid')
        uuids = query.all(flat=True)
    computers_before = {computer.uuid for computer in orm.Computer.collection.all()}
    import_archive(ARCHIVE)
    # The archive's computer is called localhost: imported into a profile without one, it would become the
    # localhost of every later test (its work directory, its 13 jobs). Give it a name of its own.
    for computer in orm.Computer.collection.all():
        if computer.uuid not in computers_before:
            computer.label = f'pre-e0-archive-{computer.label}'
    nodes = [orm.load_node(uuid) for uuid in uuids]
    runs = [node for node in nodes if 'calibration' in node.inputs and 'aligned_spectra' in node.outputs]
    assert len(runs) == 1
    return runs[0]


def test_realign_uses_stored_energy_zero_and_recomputes_nothing(old_graph, aiida_profile):
    from aiida_siox.cli import siox
    from aiida_siox.graph import SUPERSEDED_BY
    from aiida_siox.provenance import spectrum_provenance
    from aiida_siox.workflows.alignment import newest_version

    old = old_graph.outputs.aligned_spectra.site_0
    assert 'alignment' not in old.creator.inputs  # the old formula: raw, delta_scf, calibration
    jobs_before = orm.QueryBuilder().append(orm.CalcJobNode).count()
    result = CliRunner().invoke(siox, ['realign', str(old_graph.pk), '-p', aiida_profile.name])
    assert result.exit_code == 0, result.output
    assert '1 spectra re-aligned' in result.output
    assert orm.QueryBuilder().append(orm.CalcJobNode).count() == jobs_before  # nothing recomputed

    new = newest_version(old)
    assert new.uuid == old.base.extras.get(SUPERSEDED_BY) and new.uuid != old.uuid
    alignment = new.creator.inputs.alignment
    raw, delta_scf = old_graph.outputs.raw_spectra.site_0, old_graph.outputs.delta_scf.site_0
    xspectra = raw.creator.inputs.spectrum_x.creator
    # E0 is what that xspectra run printed as its energy zero, and it is in the provenance of the new spectrum
    assert alignment['form'] == 'fch'
    assert alignment['energy_zero_ev'] == pytest.approx(float(xspectra.outputs.output_parameters['energy_zero']))
    assert alignment.creator.inputs.xspectra_output.uuid == xspectra.outputs.output_parameters.uuid
    assert alignment['shift_ev'] == pytest.approx(alignment['energy_zero_ev'] + delta_scf.value)

    # the new calibration comes from the old one's own quartz spectrum, with E0 in the quartz shift too
    calibration = new.creator.inputs.calibration
    old_calibration = old_graph.inputs.calibration
    quartz_raw = old_calibration.creator.inputs.raw
    assert calibration['alignment'] == 'fch' and calibration.creator.inputs.raw.uuid == quartz_raw.uuid
    quartz_shift = calibration.creator.inputs.alignment['shift_ev']
    quartz_peak = main_peak_energy(quartz_raw.get_x()[1] + quartz_shift, quartz_raw.get_y()[0][1])
    assert calibration['constant_ev'] == pytest.approx(calibration_constant(quartz_peak, 1846.0))
    expected, _ = align_spectrum(raw.get_x()[1], raw.get_y()[0][1], alignment['shift_ev'], calibration['constant_ev'])
    assert np.allclose(new.get_y()[0][1], expected, equal_nan=True)
    # the two graphs differ by E0(c-Si) - E0(quartz): the old formula dropped it
    old_onset_gap = calibration['constant_ev'] + alignment['shift_ev'] - old_calibration['constant_ev'] - delta_scf.value
    quartz_e0 = calibration.creator.inputs.alignment['energy_zero_ev']
    assert old_onset_gap == pytest.approx(alignment['energy_zero_ev'] - quartz_e0, abs=1e-6)

    chain = spectrum_provenance(old)
    assert chain['spectrum']['superseded_by'] == new.pk
    assert spectrum_provenance(new)['alignment']['form'] == 'fch'
    shown = CliRunner().invoke(siox, ['provenance', str(old.pk), '-p', aiida_profile.name])
    assert f'SUPERSEDED      by <{new.pk}>' in shown.output

    again = CliRunner().invoke(siox, ['realign', str(old_graph.pk), '-p', aiida_profile.name])
    assert again.exit_code == 0 and 'nothing to do' in again.output


def test_a_run_made_before_the_site_job_restarts_in_the_new_input_shape(old_graph):
    """`siox rerun` builds on the old run's inputs: its xspectra jobs' options and no xe0 code must not stop it."""
    from aiida_siox.workflows.rerun_failed import restart_inputs
    from aiida_siox.workflows.site_xanes import SiteXanesWorkChain

    assert 'metadata' in old_graph.get_metadata_inputs()['xspectra']  # the old shape: options of its own
    computer = old_graph.inputs.scf.pw.code.computer
    with pytest.raises(ValueError, match=re.escape(f'siox-python code on computer {computer.label!r}')):
        restart_inputs(old_graph)
    python = orm.InstalledCode(computer=computer, filepath_executable=sys.executable, label='siox-python').store()
    inputs = restart_inputs(old_graph)
    assert 'metadata' not in inputs['xspectra']
    assert inputs['energy_zero_code'].uuid == python.uuid
    assert inputs['scf']['pw']['metadata']['options']['max_wallclock_seconds'] == 3600
    builder = SiteXanesWorkChain.get_builder()
    builder._update(inputs)
    assert SiteXanesWorkChain.spec().inputs.validate(builder._inputs(prune=True)) is None
