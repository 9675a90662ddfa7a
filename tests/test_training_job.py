"""The training job through the engine (real PyTorch in a localhost job), its restarts, and `siox predict`."""

import itertools

import numpy as np
import pytest
from aiida import get_profile, orm
from click.testing import CliRunner
from local_runner import run_get_node

from aiida_siox.calculations.training import TRAINING_ARRAYS
from aiida_siox.cli import predict_command
from aiida_siox.ml.synthetic import synthetic_dataset
from aiida_siox.workflows.training import TrainingWorkChain

pytestmark = pytest.mark.codes

#: The charge networks learn enough for the predictions checked here in 60 epochs; the RDF networks (10 sub-window
#: networks of 512 x 3 among them) and the classifier are trained, saved and read back, not scored, so a few epochs
#: do: the study takes 40 % less time than with 40 RDF and 300 classifier epochs (in process, same load).
CONFIG = {
    'charge_epochs': 60,
    'rdf_epochs': 10,
    'coordination_epochs': 40,
    'ensemble_size': 2,
    'cv_folds': 2,
    'batch_size': 32,
    'patience': 100,
}


def dataset_node(n_rows: int, n_cells: int = 6) -> orm.ArrayData:
    node = orm.ArrayData()
    for name, values in synthetic_dataset(n_rows, n_cells, seed=11).items():
        if name in TRAINING_ARRAYS:
            node.set_array(name, np.asarray(values))
    return node.store()


def training_builder(code, dataset, config, max_iterations=10):
    builder = TrainingWorkChain.get_builder()
    builder.job.code = code
    builder.job.dataset = dataset
    builder.job.config = orm.Dict(config)
    builder.job.metadata.options.resources = {'num_machines': 1, 'num_mpiprocs_per_machine': 1}
    builder.max_iterations = orm.Int(max_iterations)
    return builder


@pytest.fixture(scope='module')
def interrupted_training(siox_setup):
    """A study that needs more than one job: each job trains 80 epochs, checkpoints and the workchain continues it.

    The study trains 210 epochs in all (CONFIG, 160 rows), so it takes three jobs on any machine. An epoch limit,
    not a time limit: with 3 s of training per job the number of jobs grew with the machine's load, each paying the
    job's fixed cost again (session 23: 321 s of the suite beside a second test worker, 170 s on a lighter load)."""
    dataset = dataset_node(160)
    builder = training_builder(siox_setup['codes']['python'], dataset, {**CONFIG, 'epochs_per_job': 80})
    results, node = run_get_node(builder)
    return dataset, results, node


def test_job_limit_restarts_from_the_checkpoint(interrupted_training):
    _, results, node = interrupted_training
    assert node.is_finished_ok, f'{node.exit_status}: {node.exit_message}'
    jobs = sorted(node.called, key=lambda n: n.ctime)
    assert len(jobs) == 3, f'{len(jobs)} jobs: 210 epochs at 80 per job take three'
    for previous, following in itertools.pairwise(jobs):
        assert previous.exit_status == 400 and 'checkpoint' in previous.outputs
        assert following.inputs.checkpoint.uuid == previous.outputs.checkpoint.uuid  # continued, not restarted
    assert jobs[-1].is_finished_ok and 'checkpoint' not in jobs[-1].outputs
    metrics = results['metrics'].get_dict()
    assert metrics['resumed'] is True and metrics['n_rows'] == 160
    assert metrics['charge']['test']['rmse'] < 0.5  # learned something: the class spacing is 0.8 e
    assert set(results['plots']) == {'charge_parity', 'rdf_examples', 'windows', 'averaged'}
    # the last job's fixed cost, apart from the time per epoch: torch's import alone takes well over 0.1 s
    fixed = metrics['fixed_cost']
    assert fixed['imports_seconds'] > 0.1 and fixed['start_seconds'] is not None and 0 <= fixed['start_seconds'] < 30
    assert 0 < fixed['data_load_seconds'] < fixed['imports_seconds']
    assert 0 < metrics['charge']['seconds_per_epoch'] < metrics['charge']['seconds']


def test_a_failing_script_stops_with_its_message(siox_setup):
    dataset = dataset_node(1, 1)
    _, node = run_get_node(training_builder(siox_setup['codes']['python'], dataset, CONFIG))
    assert node.exit_status == TrainingWorkChain.exit_codes.ERROR_TRAINING_SCRIPT.status
    assert 'at least 2 are needed' in node.exit_message
    assert len(node.called) == 1  # not retried


def test_bad_config_is_refused_at_submission(siox_setup):
    with pytest.raises(ValueError, match='unknown training settings: epochs'):
        training_builder(siox_setup['codes']['python'], dataset_node(20), {'epochs': 10})
    complete, without_seed = dataset_node(20), orm.ArrayData()
    for name in complete.get_arraynames():
        if name != 'seed':
            without_seed.set_array(name, complete.get_array(name))
    with pytest.raises(ValueError, match='lacks the arrays seed'):
        training_builder(siox_setup['codes']['python'], without_seed.store(), CONFIG)


def test_predict_round_trips_through_the_graph(interrupted_training, tmp_path):
    dataset, results, node = interrupted_training
    row = 5
    spectrum_file = tmp_path / 'site5.csv'
    energy = dataset.get_array('energy')
    spectrum_file.write_text(
        'energy_eV,intensity\n'
        + '\n'.join(f'{float(e)!r},{float(i)!r}' for e, i in zip(energy, dataset.get_array('spectra')[row], strict=False))
    )
    profile = ['-p', get_profile().name]
    png = tmp_path / 'prediction.png'
    result = CliRunner().invoke(predict_command, [str(spectrum_file), '--model', str(node.pk), '--png', str(png), *profile])
    assert result.exit_code == 0, result.output
    assert 'Si valence (Bader)' in result.output and png.stat().st_size > 1000
    prediction = (
        orm.QueryBuilder()
        .append(orm.CalcFunctionNode, filters={'attributes.process_label': 'predict_from_spectrum'}, tag='calc')
        .order_by({'calc': {'ctime': 'desc'}})
        .first(flat=True)
    )
    assert prediction.inputs.charge_model.uuid == results['charge_model'].uuid
    assert prediction.inputs.spectrum.base.attributes.get('source_filename') == 'site5.csv'
    charge = prediction.outputs.charge
    # the same spectrum through the graph gives what the training job predicted for that row
    assert charge['mean'] == pytest.approx(results['predictions'].get_array('charge_mean')[row], abs=1e-4)
    assert len(charge['members']) == 2 and charge['std'] >= 0

    nan_file = tmp_path / 'nan.txt'
    nan_file.write_text('\n'.join(f'{e} {"nan" if k == 10 else 1.0}' for k, e in enumerate(np.linspace(1820, 1890, 100))))
    short_file = tmp_path / 'short.txt'
    short_file.write_text('\n'.join(f'{e} 1.0' for e in np.linspace(1842, 1846, 100)))  # inside every window
    for bad, message in ((nan_file, 'NaN'), (short_file, 'covers 1842.00-1846.00 eV: it holds none of the sub-windows')):
        refused = CliRunner().invoke(predict_command, [str(bad), '--model', str(node.pk), *profile])
        assert refused.exit_code == 1 and message in refused.output
    wrong_model = CliRunner().invoke(predict_command, [str(spectrum_file), '--model', str(dataset.pk), *profile])
    assert wrong_model.exit_code == 1 and 'is not a training job' in wrong_model.output


def _write_spectrum(path, energy, intensity) -> None:
    path.write_text('energy_eV,intensity\n' + '\n'.join(f'{float(e)!r},{float(i)!r}' for e, i in zip(energy, intensity, strict=True)))


@pytest.fixture(scope='module')
def edge_training(siox_setup):
    """A model for measured spectra: each spectrum normalised by its edge step (pre-edge 0, post-edge 1)."""
    dataset = dataset_node(160)
    results, node = run_get_node(training_builder(siox_setup['codes']['python'], dataset, {**CONFIG, 'normalisation': 'edge'}))
    assert node.is_finished_ok, node.exit_message
    return dataset, results, node


def test_measured_like_spectra_calibrated_by_shift_or_reference(edge_training, interrupted_training, tmp_path):
    """A computed spectrum made "measured-like" (energy scale 3 eV high, cut, another grid, x250 counts on an
    offset, broadened by 0.2 eV, 0.5 % noise) predicts within 0.15 e of the original with an edge-step model,
    calibrated with --shift and with a quartz --reference; the shift is stored; a spectrum in other intensity
    units is flagged by a model trained on absolute units; bad files store nothing."""
    from scipy.ndimage import gaussian_filter1d

    dataset, _, node = edge_training
    profile = ['-p', get_profile().name]
    energy, row = dataset.get_array('energy'), dataset.get_array('spectra')[100]
    _write_spectrum(tmp_path / 'original.csv', energy, row)
    offset = 3.0  # the instrument's energy scale reads 3 eV high
    measured = np.linspace(1832.5, 1884.0, 400)  # another grid, cut: 1829.5-1881 eV on the true axis
    broadened = gaussian_filter1d(row, 0.2 / (energy[1] - energy[0]), mode='nearest')
    counts = 250.0 * np.interp(measured - offset, energy, broadened) + 3.0
    counts += np.random.default_rng(0).normal(0.0, 0.005 * counts.max(), measured.size)
    _write_spectrum(tmp_path / 'sample.csv', measured, counts)
    quartz = np.exp(-0.5 * ((np.linspace(1835, 1870, 141) - (1846.0 + offset)) / 1.5) ** 2)
    _write_spectrum(tmp_path / 'quartz.csv', np.linspace(1835, 1870, 141), quartz)

    original = CliRunner().invoke(predict_command, [str(tmp_path / 'original.csv'), '--model', str(node.pk), *profile])
    assert original.exit_code == 0, original.output
    reference_value = float(original.output.split('Si valence (Bader): ')[1].split()[0])
    uncalibrated = CliRunner().invoke(predict_command, [str(tmp_path / 'sample.csv'), '--model', str(node.pk), *profile])
    assert uncalibrated.exit_code == 1 and 'the model needs 1830.00-1880.00 eV' in uncalibrated.output

    table = tmp_path / 'predictions.csv'
    for option in (['--shift', str(-offset)], ['--reference', str(tmp_path / 'quartz.csv')]):
        result = CliRunner().invoke(
            predict_command, [str(tmp_path / 'sample.csv'), '--model', str(node.pk), *option, '--table', str(table), *profile]
        )
        assert result.exit_code == 0, result.output
        assert 'energy shift: -3.0' in result.output
        value = float(result.output.split('Si valence (Bader): ')[1].split()[0])
        print(f'measured-like, {option[0]}: {value:+.3f} e vs original {reference_value:+.3f} e')  # for the notes (-s)
        assert value == pytest.approx(reference_value, abs=0.15), (option, value, reference_value)
        prediction = (
            orm.QueryBuilder()
            .append(orm.CalcFunctionNode, filters={'attributes.process_label': 'predict_from_spectrum'})
            .order_by({orm.CalcFunctionNode: {'ctime': 'desc'}})
            .first(flat=True)
        )
        shifted = prediction.inputs.spectrum
        assert shifted.creator.process_label == 'shift_spectrum_energy'
        assert shifted.creator.inputs.shift.value == pytest.approx(-offset, abs=0.02)
        assert shifted.creator.inputs.spectrum.base.attributes.get('source_filename') == 'sample.csv'
    made_by = shifted.creator.inputs.shift.creator  # the last one: from the reference
    assert (
        made_by.process_label == 'reference_energy_shift'
        and made_by.inputs.reference.base.attributes.get('source_filename') == 'quartz.csv'
    )
    rows = table.read_text().splitlines()
    assert rows[0].startswith('file,shift_ev,si_valence_e') and rows[1].startswith('sample.csv,-3.0')

    scaled = tmp_path / 'other_units.csv'
    _write_spectrum(scaled, energy, 100 * row)
    absolute_units_model = interrupted_training[2]
    flagged = CliRunner().invoke(predict_command, [str(scaled), '--model', str(absolute_units_model.pk), *profile])
    assert flagged.exit_code == 0 and 'WARNING: charge: the spectrum lies outside the training spectra' in flagged.output

    bad = tmp_path / 'bad'
    bad.mkdir()
    (bad / 'nan.txt').write_text('\n'.join(f'{e} {"nan" if k == 10 else 1.0}' for k, e in enumerate(np.linspace(1820, 1890, 100))))
    (bad / 'good.csv').write_text((tmp_path / 'original.csv').read_text())
    nodes = orm.QueryBuilder().append(orm.Node).count()
    refused = CliRunner().invoke(predict_command, [str(bad), '--model', str(node.pk), *profile])
    assert refused.exit_code == 1 and 'nan.txt line 11: NaN or infinite value' in refused.output
    assert 'Traceback' not in refused.output
    assert orm.QueryBuilder().append(orm.Node).count() == nodes  # not even the good file's spectrum


def test_a_partial_spectrum_is_answered_by_the_best_window_it_covers(interrupted_training, tmp_path):
    """A spectrum cut to 1830-1856 eV (a measured scan that stops early) gets the prediction of the sub-window
    network with the lowest test RMSE among those it covers, never zero padding; too short a piece is refused."""
    dataset, results, node = interrupted_training
    assert 'windows_charge_model' in results and 'windows_rdf_model' in results
    profile = ['-p', get_profile().name]
    energy, row = dataset.get_array('energy'), dataset.get_array('spectra')[100]
    _write_spectrum(tmp_path / 'full.csv', energy, row)
    cut = energy <= 1856.0
    _write_spectrum(tmp_path / 'cut.csv', energy[cut], row[cut])
    full = CliRunner().invoke(predict_command, [str(tmp_path / 'full.csv'), '--model', str(node.pk), *profile])
    partial = CliRunner().invoke(
        predict_command, [str(tmp_path / 'cut.csv'), '--model', str(node.pk), '--table', str(tmp_path / 't.csv'), *profile]
    )
    assert full.exit_code == 0 and partial.exit_code == 0, partial.output
    assert 'partial spectrum: answered by the' in partial.output
    value = {name: float(out.output.split('Si valence (Bader): ')[1].split()[0]) for name, out in (('full', full), ('cut', partial))}
    print(f'partial 1830-1856 eV: {value["cut"]:+.3f} e vs whole window {value["full"]:+.3f} e')  # for the notes (-s)
    prediction = (
        orm.QueryBuilder()
        .append(orm.CalcFunctionNode, filters={'attributes.process_label': 'predict_from_spectrum'})
        .order_by({orm.CalcFunctionNode: {'ctime': 'desc'}})
        .first(flat=True)
    )
    window = prediction.outputs.charge['window']
    start, end = window['range_ev']
    assert start >= 1830.0 - 1e-6 and end <= 1856.0 + 1e-6  # a window the spectrum covers
    scores = results['metrics']['windows']['charge']
    covered = [name for name, entry in scores.items() if entry['range_ev'][1] <= 1856.0 + 1e-6]
    assert window['name'] == min(covered, key=lambda name: scores[name]['rmse'])  # the best of those
    assert prediction.inputs.charge_windows_model.uuid == results['windows_charge_model'].uuid
    assert abs(value['cut'] - value['full']) < 0.3
    assert (tmp_path / 't.csv').read_text().splitlines()[1].split(',')[6] == f'{start:g}-{end:g}'
    short = tmp_path / 'short.csv'
    inside = (energy >= 1840.0) & (energy <= 1845.0)
    _write_spectrum(short, energy[inside], row[inside])
    refused = CliRunner().invoke(predict_command, [str(short), '--model', str(node.pk), *profile])
    assert refused.exit_code == 1 and 'holds none of the sub-windows' in refused.output
