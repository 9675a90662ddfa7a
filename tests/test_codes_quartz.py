"""Real codes on alpha-quartz: generated pseudopotentials in pw.x, core-hole SCF + xspectra, Bader.

These run ld1.x, pw.x, xspectra.x, pp.x and baderkit for real on a 9-atom cell (seconds each;
the first Bader call also compiles baderkit's numba kernels, ~1-2 min on 2 cores).
"""

import numpy as np
import pytest
from aiida import orm
from local_runner import run_get_node

from aiida_siox.analysis.spectrum import ML_GRID, main_peak_energy
from aiida_siox.calculations.structure_edit import alpha_quartz
from aiida_siox.workflows.dataset import SiOxDatasetWorkChain

pytestmark = pytest.mark.codes


@pytest.fixture(scope='module')
def builder_inputs(siox_setup):
    """The `fast` protocol's stage inputs, as the top-level builder makes them."""
    builder = SiOxDatasetWorkChain.get_builder_from_protocol(siox_setup['codes'], [1.0], [1], protocol='fast', train=False)
    return builder


def test_generated_pseudopotentials_work_in_pw(siox_setup, builder_inputs, monkeypatch):
    import json
    from xml.etree import ElementTree

    from aiida.plugins import WorkflowFactory
    from aiida_quantumespresso.parsers.parse_xml import parse
    from aiida_quantumespresso.parsers.parse_xml.versions import get_schema_filepath
    from xmlschema import XMLSchema

    from aiida_siox.parsers.qe_xml_schema import schema

    families = siox_setup['families']
    assert {p.element for p in families['siox/us-gipaw'].nodes} == {'Si', 'O'}
    core_hole = families['siox/core-hole'].get_pseudo('Si')
    assert core_hole.z_valence == 5  # one 1s electron moved to the valence count: the core hole
    assert families['siox/paw'].get_pseudo('O').z_valence == 6
    core_wfc = siox_setup['families']['siox/core-wavefunction'].nodes[0]
    assert core_wfc.filename == 'stdout'  # XspectraCalculation hard-codes filecore='stdout'
    # every pseudopotential is traceable to the ld1.x job that made it
    ld1_job = core_hole.creator.inputs.upf_file.creator
    assert ld1_job.process_label.startswith('ShellJob') and ld1_job.is_finished_ok

    scf = builder_inputs.structure.xanes.scf
    quartz = alpha_quartz()
    for family in ('siox/us-gipaw', 'siox/paw'):
        pseudos = {el: families[family].get_pseudo(el) for el in ('Si', 'O')}
        inputs = {'pw': {**scf.pw, 'structure': quartz, 'pseudos': pseudos}, 'kpoints': scf.kpoints}
        results, node = run_get_node(WorkflowFactory('quantumespresso.pw.base'), **inputs)
        assert node.is_finished_ok, f'{family}: pw.x exit status {node.exit_status}'
        assert results['output_parameters']['energy'] < 0
        assert results['output_parameters']['number_of_electrons'] == pytest.approx(48.0)
    # the daemon reads pw.x's XML with each XSD schema built once per process (parsers/qe_xml_schema.py):
    # the same result as aiida-quantumespresso's schema built afresh
    assert parse.XMLSchema is schema
    with node.called[-1].outputs.retrieved.base.repository.open('data-file-schema.xml') as handle:
        xml = ElementTree.parse(handle)
    cached = parse.parse_xml_post_6_2(xml)
    monkeypatch.setattr(parse, 'XMLSchema', XMLSchema)
    fresh = parse.parse_xml_post_6_2(xml)

    def text(parsed) -> str:  # the parsed data hold numpy arrays: compare their JSON
        return json.dumps(parsed[0], sort_keys=True, default=lambda value: value.tolist())

    assert text(fresh) == text(cached) and cached[0]['number_of_electrons'] == pytest.approx(48.0)
    assert schema(get_schema_filepath(xml)) is schema(get_schema_filepath(xml))


def test_quartz_core_hole_spectrum_and_calibration(builder_inputs):
    from aiida_siox.workflows.quartz_calibration import QuartzCalibrationWorkChain

    xanes = {k: v for k, v in builder_inputs.structure.xanes.items() if k != 'max_concurrent_sites'}
    results, node = run_get_node(QuartzCalibrationWorkChain, xanes=xanes, target_ev=orm.Float(1846.0))
    assert node.is_finished_ok
    raw = results['quartz_spectrum']
    energy, intensity = raw.get_x()[1], raw.get_y()[0][1]
    assert np.all(np.isfinite(intensity)) and np.all(intensity >= 0) and intensity.max() > 0
    # an insulator: the main peak lies a few eV above the energy zero (xe0, mid-gap), not below it
    peak = main_peak_energy(energy, intensity)
    assert 0.0 < peak < 15.0
    # absorption below the edge is weak compared with the main peak
    assert intensity[energy < -2.0].max() < 0.2 * intensity.max()
    calibration = results['calibration'].get_dict()
    alignment = results['calibration'].creator.inputs.alignment  # provenance: the calibration knows its alignment
    assert -100.0 < alignment['delta_scf_ev'] < -20.0  # removing a 1s electron costs tens of eV in pseudopotential total energy
    assert calibration['alignment'] == 'fch' and calibration['cell']['n_atoms'] == 9
    shift = alignment['shift_ev']
    assert shift == pytest.approx(alignment['energy_zero_ev'] + alignment['delta_scf_ev'])
    assert calibration['quartz_peak_without_c_ev'] == pytest.approx(peak + shift, abs=0.05)
    assert calibration['constant_ev'] + peak + shift == pytest.approx(1846.0, abs=1e-6)
    # after alignment the quartz main peak sits on the experimental value
    from aiida_siox.analysis.spectrum import align_spectrum

    aligned, covered = align_spectrum(energy, intensity, shift, calibration['constant_ev'])
    assert covered[0] < 1830.0 and covered[1] > 1880.0
    assert main_peak_energy(ML_GRID, aligned, window=(1840, 1852)) == pytest.approx(1846.0, abs=0.2)


def test_bader_on_quartz_non_cubic_grid(builder_inputs):
    from aiida_siox.workflows.bader import BaderWorkChain

    bader = builder_inputs.structure.bader
    results, node = run_get_node(BaderWorkChain, structure=alpha_quartz(), scf=bader.scf, pp_code=bader.pp_code, bader=bader.bader)
    assert node.is_finished_ok, node.exit_message
    summary = results['summary'].get_dict()
    assert summary['grid_shape'][0] != summary['grid_shape'][2]  # hexagonal cell: n1 != n3, the case baderkit's reader gets wrong
    pp = node.base.links.get_outgoing(link_label_filter='pp_valence').one().node
    assert 'aiida.fileout' in pp.outputs.retrieved.base.repository.list_object_names()  # keep_cubes: stored
    assert 'output_data' not in pp.outputs  # and not parsed into a second copy as an array
    assert summary['total_population'] == pytest.approx(summary['valence_electrons'], abs=0.05)
    charges = results['charges'].get_array('charge')
    symbols = np.array(node.inputs.structure.get_ase().get_chemical_symbols())  # charges follow the input order
    si, o = charges[symbols == 'Si'], charges[symbols == 'O']
    assert np.all((si > 3.0) & (si < 3.4)), si
    assert np.all((o > -1.7) & (o < -1.5)), o


def test_bader_on_crystalline_silicon_is_neutral(builder_inputs):
    """Every atom of c-Si (2-atom fcc cell: a non-cubic, oblique grid) within 0.05 e of zero."""
    from ase.build import bulk

    from aiida_siox.workflows.bader import BaderWorkChain

    bader = builder_inputs.structure.bader
    silicon = orm.StructureData(ase=bulk('Si', 'diamond', 5.43))
    scf = dict(bader.scf)
    kpoints = orm.KpointsData()
    kpoints.set_kpoints_mesh([4, 4, 4])  # a semiconductor needs k-points; Gamma alone is not Si
    scf['kpoints'] = kpoints
    # the cubes stay on the computer (keep_cubes False): the Bader job copies them from the pp.x folders there
    inputs = {'structure': silicon, 'scf': scf, 'pp_code': bader.pp_code, 'bader': bader.bader, 'keep_cubes': orm.Bool(False)}
    results, node = run_get_node(BaderWorkChain, **inputs)
    assert node.is_finished_ok, node.exit_message
    job = node.base.links.get_outgoing(link_label_filter='bader').one().node
    assert isinstance(job.inputs.valence_density, orm.RemoteData) and isinstance(job.inputs.reference_density, orm.RemoteData)
    for label in ('pp_valence', 'pp_reference'):
        pp = node.base.links.get_outgoing(link_label_filter=label).one().node
        assert 'aiida.fileout' not in pp.outputs.retrieved.base.repository.list_object_names()  # not in the repository
    summary = results['summary'].get_dict()
    assert summary['valence_electrons'] == 8
    assert {name: len(cube['sha256']) for name, cube in summary['cubes'].items()} == {
        'valence': 64,
        'reference': 64,
    }  # what identifies them
    assert summary['total_population'] == pytest.approx(8.0, abs=0.05)
    charges = results['charges'].get_array('charge')
    assert charges.shape == (2,)
    assert np.all(np.abs(charges) < 0.05), charges
