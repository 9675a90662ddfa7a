"""The walking skeleton through the engine with real LAMMPS, QE, baderkit and PyTorch on tiny cells."""

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node

from aiida_siox.workflows.dataset import SiOxDatasetWorkChain

pytestmark = pytest.mark.codes


@pytest.fixture(scope='module')
def protocol_builder(siox_setup):
    def make(compositions, seeds, **kwargs):
        return SiOxDatasetWorkChain.get_builder_from_protocol(siox_setup['codes'], compositions, seeds, protocol='fast', **kwargs)

    return make


def run_melt_quench(builder, structure, seed):
    from aiida_siox.workflows.melt_quench import MeltQuenchWorkChain

    md = builder.structure.md
    parameters = orm.Dict({**md.parameters.get_dict(), 'seed': seed})
    return run_get_node(MeltQuenchWorkChain, structure=structure, parameters=parameters, potential=md.potential, lammps=md.lammps)


def test_melt_quench_seeds_are_explicit_and_reproducible(protocol_builder):
    from aiida_siox.calculations.structure_builder import build_amorphous_seed

    builder = protocol_builder([1.0], [1])
    start = build_amorphous_seed(orm.Float(1.0), orm.Int(5), orm.Int(2))
    (a, node_a), (b, _), (c, _) = (run_melt_quench(builder, start, seed) for seed in (11, 11, 12))
    assert node_a.is_finished_ok
    pos = [r['structure'].get_ase().positions for r in (a, b, c)]
    assert np.allclose(pos[0], pos[1], atol=1e-6)  # same seed: same structure
    assert not np.allclose(pos[0], pos[2], atol=1e-2)  # another seed: another structure
    summary = a['summary'].get_dict()
    assert summary['formula'] == 'O12Si12'
    assert 1.6 < summary['density_g_cm3'] < 3.2
    assert summary['min_distance_A'] > 1.3  # no overlapping atoms
    thermo = a['thermo']
    assert thermo.get_array('temperature_K').max() > 3000  # it really melted
    assert thermo.get_array('temperature_K')[-1] < 100  # and was quenched
    lammps_job = next(n for n in node_a.called if n.process_label == 'LammpsRawCalculation')
    assert 'velocity all create 300.0 11 ' in lammps_job.inputs.script.get_content()


@pytest.fixture(scope='module')
def pipeline(protocol_builder):
    builder = protocol_builder([1.0], [3], overrides={'training': {'charge_epochs': 30, 'rdf_epochs': 30}})
    results, node = run_get_node(builder)
    return results, node


def test_pipeline_finishes_with_dataset_and_models(pipeline):
    results, node = pipeline
    assert node.is_finished_ok, f'exit status {node.exit_status}: {node.exit_message}'
    dataset = results['dataset']
    manifest = results['manifest'].get_dict()
    n = manifest['n_rows']
    assert n == 2 and not manifest['missing']  # fast protocol: 2 sites per structure
    assert dataset.get_array('spectra').shape == (n, 256)
    assert dataset.get_array('rdf').shape == (n, 256)
    assert np.allclose(dataset.get_array('energy'), np.linspace(1830, 1880, 256))
    assert np.all(np.isfinite(dataset.get_array('spectra'))) and dataset.get_array('spectra').max() > 0
    charges = dataset.get_array('charge')
    assert np.all((charges > -0.5) & (charges < 4.0))  # Si valence between Si(0) and Si(4+)
    n_o = dataset.get_array('n_o')
    assert np.all((n_o >= 0) & (n_o <= 4))
    training = results['training']
    for name in ('charge_model', 'rdf_model'):
        assert training[name].get_content(mode='rb')[:2] == b'PK'  # torch.save zip archive
    assert set(training['plots']) == {'charge_parity', 'rdf_examples'}
    metrics = training['metrics'].get_dict()
    assert metrics['n_train'] + metrics['n_test'] == n


def test_every_row_links_back_to_structure_seed_and_site(pipeline):
    results, _ = pipeline
    manifest = results['manifest'].get_dict()
    structure = results['structures']['x1p00_seed3']
    for row in manifest['rows']:
        assert row['structure'] == structure.uuid and row['seed'] == 3 and row['x'] == 1.0
        spectrum = orm.load_node(row['spectrum'])
        # spectrum <- align <- isotropic <- xspectra <- core-hole SCF <- mark_absorber(structure, site)
        # (the calibration brings in alpha-quartz's own mark_absorber too: restrict to this structure)
        qb = orm.QueryBuilder()
        qb.append(orm.StructureData, filters={'uuid': structure.uuid}, tag='structure')
        qb.append(orm.CalcFunctionNode, with_incoming='structure', filters={'attributes.function_name': 'mark_absorber'}, tag='mark')
        qb.append(orm.XyData, with_ancestors='mark', filters={'uuid': spectrum.uuid})
        qb.append(orm.Int, with_outgoing='mark', project='attributes.value')
        assert qb.distinct().all(flat=True) == [row['site']]
        ancestors = orm.QueryBuilder().append(orm.XyData, filters={'uuid': spectrum.uuid}, tag='s')
        ancestors.append(orm.StructureData, with_descendants='s', filters={'uuid': structure.uuid})
        assert ancestors.distinct().count() == 1
        seed_query = orm.QueryBuilder().append(orm.StructureData, filters={'uuid': structure.uuid}, tag='st')
        seed_query.append(orm.Int, with_descendants='st', filters={'attributes.value': 3})
        assert seed_query.distinct().count() >= 1  # the seed node is an ancestor of the quenched structure
        charges = orm.load_node(row['charges'])
        assert charges.creator.process_label == 'BaderCalculation'
