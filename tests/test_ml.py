"""The learning code without AiiDA: models, splits, inputs, baseline, training, checkpoints, prediction."""

import io
import json

import numpy as np
import pytest
import torch

from aiida_siox.ml import baseline, coordination, evaluation, inputs, splits
from aiida_siox.ml.models import stacked_model
from aiida_siox.ml.prediction import load_model, predict_spectrum
from aiida_siox.ml.spectrum_files import read_spectrum_file
from aiida_siox.ml.study import Study, StudyInterrupted
from aiida_siox.ml.study_config import check_config
from aiida_siox.ml.synthetic import synthetic_dataset
from aiida_siox.ml.trainer import StackedTrainer, TrainSettings, predict

GRID = inputs.ML_GRID


def test_stacked_members_are_the_plain_networks():
    torch.manual_seed(0)
    model = stacked_model('rdf', 3, 256, 256)
    x = torch.randn(7, 256)
    stacked = model(x)
    for m in range(3):
        assert torch.allclose(stacked[m], model.member(m)(x), atol=1e-5)
    assert [type(layer).__name__ for layer in stacked_model('charge', 1, 256, 1).member(0)] == ['Linear', 'LeakyReLU'] * 3 + ['Linear']


def test_members_train_independently():
    """Member 0 learns the same weights whether or not member 1 (with garbage targets) trains beside it."""
    data = synthetic_dataset(60, 6, seed=1)
    x = torch.from_numpy(inputs.normalise(data['spectra'], 'max'))
    y = torch.from_numpy(data['charge'].astype(np.float32)).reshape(-1, 1)
    y_garbage = torch.cat([y, torch.randn_like(y) * 100])
    rows = np.arange(60)
    settings = TrainSettings(epochs=5, batch_size=16, seed=4)
    torch.manual_seed(0)
    pair = stacked_model('charge', 2, 256, 1)
    single = stacked_model('charge', 1, 256, 1)
    with torch.no_grad():
        for p_single, p_pair in zip(single.parameters(), pair.parameters(), strict=True):
            p_single.copy_(p_pair[:1])
    # member 1 reads rows 60..119 of the stacked targets: the garbage copy
    x2 = torch.cat([x, x])
    StackedTrainer(pair, x2, y_garbage, [rows, rows + 60], [rows[:0], rows[:0]], settings, log=lambda _: None).run()
    StackedTrainer(single, x2, y_garbage, [rows], [rows[:0]], settings, log=lambda _: None).run()
    for p_single, p_pair in zip(single.parameters(), pair.parameters(), strict=True):
        assert torch.allclose(p_single[0], p_pair[0], atol=1e-5)


def _fit(target: str, n_rows: int = 240, epochs: int = 60):
    data = synthetic_dataset(n_rows, 12, seed=2)
    train, test = splits.train_test_split(n_rows, 0.25, seed=0)
    x = torch.from_numpy(inputs.normalise(data['spectra'], 'global', inputs.normalisation_scale(data['spectra'][train], 'global')))
    y = torch.from_numpy((data['charge'].reshape(-1, 1) if target == 'charge' else data['rdf']).astype(np.float32))
    torch.manual_seed(0)
    trainer = StackedTrainer(
        stacked_model(target, 1, 256, y.shape[1]),
        x,
        y,
        [train],
        [train[:0]],
        TrainSettings(epochs=epochs, batch_size=32),
        log=lambda _: None,
    )
    trainer.run()
    prediction = predict(trainer.best_model(), x)[0]
    return data, y.numpy(), prediction, train, test


def test_charge_network_learns_the_edge_position():
    """Synthetic step spectra whose edge moves 1.5 eV per unit of valence: the test RMSE must be far
    below the 0.8 e spacing of the Si(n+) classes and below the spread of the target."""
    _data, y, prediction, _, test = _fit('charge')
    rmse = evaluation.rmse(y[test], prediction[test])
    assert rmse < 0.15, rmse
    assert evaluation.r2(y[test, 0], prediction[test, 0]) > 0.98


def test_rdf_network_learns_the_shells():
    _data, y, prediction, train, test = _fit('rdf')
    mean_predictor = evaluation.rmse(y[test], np.broadcast_to(y[train].mean(axis=0), y[test].shape))
    assert evaluation.rmse(y[test], prediction[test]) < 0.3 * mean_predictor


def test_group_kfold_never_puts_a_cell_on_both_sides():
    data = synthetic_dataset(500, 20, seed=3)
    groups = splits.cell_groups(data['x'], data['seed'])
    folds = splits.kfold(len(groups), 5, seed=0, groups=groups)
    validated = np.concatenate([val for _, val in folds])
    assert np.array_equal(np.sort(validated), np.arange(500))  # every row validated once
    for fit, val in folds:
        assert set(groups[fit]).isdisjoint(groups[val])
    train, test = splits.train_test_split(500, 0.2, seed=1, groups=groups)
    assert set(groups[train]).isdisjoint(groups[test]) and len(train) + len(test) == 500
    by_site = splits.kfold(500, 5, seed=0)
    assert sorted(len(val) for _, val in by_site) == [100] * 5
    with pytest.raises(ValueError, match='at least 5 cells'):
        splits.kfold(10, 5, seed=0, groups=np.array([0, 0, 1, 1, 2, 2, 3, 3, 3, 3]))


def test_coordination_classifier_learns_the_class_from_the_edge():
    """On synthetic sites whose edge moves 1.2 eV per O neighbour, the classifier beats always guessing the
    commonest class, and its scores are computed from the confusion matrix as their names say."""
    data = synthetic_dataset(400, 20, seed=11)
    spectra = np.asarray(data['spectra'], np.float32)
    x = torch.from_numpy(inputs.normalise(spectra, 'global', inputs.normalisation_scale(spectra, 'global')))
    fit, test = splits.train_test_split(400, 0.25, seed=0)
    model, result = coordination.train_classifier(x, data['n_o'], fit[:270], fit[270:], epochs=150, patience=30, seed=1)
    scores = coordination.classification_scores(data['n_o'][test], coordination.class_probabilities(model, x)[test])
    assert scores['accuracy'] > scores['majority_accuracy'] + 0.2, scores
    confusion = np.array(scores['confusion'])
    assert confusion.sum() == len(test) and scores['accuracy'] == pytest.approx(np.trace(confusion) / len(test))
    assert 1 <= result['best_epoch'] <= result['epochs_run']


def test_a_learning_curve_point_trains_on_fewer_rows_and_tests_on_the_same():
    data = synthetic_dataset(120, 6, seed=2)
    config = {**SMALL, 'split': 'site', 'windows': False, 'coordination': False, 'cv_folds': 0}
    whole = Study(data, config, log=lambda _: None)
    part = Study(data, {**config, 'train_fraction': 0.25}, log=lambda _: None)
    assert np.array_equal(part.test_rows, whole.test_rows)
    assert set(part.train_rows) < set(whole.train_rows) and len(part.train_rows) == round(0.25 * len(whole.train_rows))
    metrics, _, _ = part.run()
    assert metrics['n_train'] == len(part.train_rows) and metrics['n_test'] == len(whole.test_rows)
    with pytest.raises(ValueError, match=r'train_fraction must lie in \(0, 1\], got 0'):
        check_config({'train_fraction': 0})


def test_classifier_survives_a_validation_class_missing_from_its_fit_rows():
    """A tiny dataset: the one validation row is of a class no fitting row has (a zero class weight; the
    weighted loss would be 0/0). The classifier still trains and keeps a model."""
    x = torch.randn(12, 256)
    n_o = np.array([0] * 6 + [4] * 5 + [2])
    model, result = coordination.train_classifier(x, n_o, np.arange(11), np.array([11]), epochs=5, patience=2, seed=0)
    assert np.isfinite(result['best_validation_loss']) and result['best_epoch'] >= 1
    assert coordination.class_probabilities(model, x).shape == (12, 5)


def test_classification_scores_of_known_probabilities():
    probabilities = np.array([[0.9, 0.1, 0, 0, 0], [0.2, 0.8, 0, 0, 0], [0.6, 0.4, 0, 0, 0], [0, 0, 0, 0, 1.0]])
    scores = coordination.classification_scores(np.array([0, 1, 1, 7]), probabilities)  # 7 O: class 4
    assert scores['accuracy'] == 0.75 and scores['majority_accuracy'] == 0.5
    assert scores['balanced_accuracy'] == pytest.approx((1.0 + 0.5 + 1.0) / 3)
    assert scores['log_loss'] == pytest.approx(-np.mean(np.log([0.9, 0.8, 0.4, 1.0])))


def test_shift_and_broadening_of_spectra():
    step = torch.from_numpy((GRID > 1850).astype(np.float32))[None, :]
    shifted = inputs.shift_spectra(step, torch.tensor([5.0]))
    assert int(np.argmax(shifted[0].numpy() > 0.5)) == int(np.argmax(step[0].numpy() > 0.5)) + 5
    peak = torch.zeros(1, 256)
    peak[0, 128] = 1.0
    broad = inputs.broaden_spectra(peak, torch.tensor([3.0]))
    assert broad.sum().item() == pytest.approx(1.0, abs=1e-5)
    width = np.sqrt((broad[0].numpy() * (np.arange(256) - 128) ** 2).sum())
    assert width == pytest.approx(3.0, rel=0.05)
    noisy = inputs.augment(step.repeat(400, 1), torch.Generator().manual_seed(0), noise=0.01)
    assert float((noisy - step).std()) == pytest.approx(0.01, rel=0.1)


def test_resample_and_normalise_refuse_bad_spectra():
    energy = np.linspace(1820, 1890, 300)
    assert inputs.resample_to_grid(energy, energy - 1820).shape == (256,)
    with pytest.raises(inputs.SpectrumInputError, match=r'covers 1835\.00-1890\.00 eV'):
        inputs.resample_to_grid(np.linspace(1835, 1890, 50), np.ones(50))
    with pytest.raises(inputs.SpectrumInputError, match='NaN'):
        inputs.resample_to_grid(energy, np.where(energy > 1850, np.nan, 1.0))
    with pytest.raises(inputs.SpectrumInputError, match='zero everywhere'):
        inputs.normalise(np.zeros((1, 256)), 'max')
    assert inputs.normalise(np.array([[1.0, 2.0, 4.0]]), 'max').max() == 1.0


def test_baseline_descriptors_of_a_triangle():
    """A white line rising linearly from 1845 eV to its maximum 2.0 at 1850 eV and falling to 1855 eV:
    edge (half maximum) 1847.5 eV, integral from the edge to 1852.5 eV = 2 * (2.5 * 1.5) = 7.5 eV."""
    energy = np.linspace(1830, 1880, 5001)
    triangle = np.clip(2.0 - np.abs(energy - 1850.0) * 0.4, 0, None)
    white_line, integrated, edge = baseline.spectrum_descriptors(energy, triangle)[0]
    assert white_line == pytest.approx(2.0) and edge == pytest.approx(1847.5, abs=1e-3)
    assert integrated == pytest.approx(7.5, rel=2e-3)
    features = np.random.default_rng(0).normal(size=(50, 3))
    target = features @ [1.0, -2.0, 0.5] + 3.0
    assert np.allclose(baseline.LinearBaseline().fit(features, target).predict(features), target)


def test_windows_cover_the_grid():
    masks = evaluation.window_masks()
    letters = sum(masks[c] for c in 'abcdefgh')
    assert np.all(letters == 1) and np.all(masks['low_half'] + masks['high_half'] == 1)
    assert masks['b'][np.searchsorted(GRID, 1840.0)] == 1 and masks['b'].sum() in (32, 33)


def test_unknown_or_impossible_settings_are_named():
    with pytest.raises(ValueError, match='unknown training settings: epochz'):
        check_config({'epochz': 3})
    with pytest.raises(ValueError, match="split must be 'site' or 'cell'"):
        check_config({'split': 'random'})


SMALL = {
    'charge_epochs': 12,
    'rdf_epochs': 8,
    'coordination_epochs': 10,
    'ensemble_size': 2,
    'cv_folds': 2,
    'batch_size': 32,
    'split': 'cell',
    'windows': True,
}


#: Paper mode at toy scale: two folds, one learning rate, three epochs.
PAPER_TINY = {
    'paper_mode': True,
    'paper_cv_folds': 2,
    'paper_learning_rates': [1e-3],
    'paper_charge_max_epochs': 3,
    'paper_rdf_max_epochs': 3,
}


def test_interrupted_study_resumes_to_the_same_result(monkeypatch):
    """Stopped by its time limit wherever it happens to be (mid-stage too) and continued from its
    state, again and again, the study ends with the numbers of an uninterrupted run (CPU).

    The clock the limit is read from advances 50 ms per reading, so where the study stops does not
    depend on how loaded the machine is (every time limit check is a reading: one per epoch)."""
    import itertools
    import time
    import types

    from aiida_siox.ml import study as study_module
    from aiida_siox.ml import trainer

    readings = itertools.count()
    clock = types.SimpleNamespace(time=lambda: 0.05 * next(readings), perf_counter=time.perf_counter)
    for module in (study_module, trainer):
        monkeypatch.setattr(module, 'time', clock)
    data = synthetic_dataset(200, 8, seed=5)
    reference, _, _ = Study(data, SMALL, log=lambda _: None).run()
    state, interruptions, resumed_mid_stage = None, 0, False
    while True:
        study = Study(data, {**SMALL, 'max_seconds': 0.4}, log=lambda _: None, state=state)
        try:
            metrics, _, _ = study.run()
            break
        except StudyInterrupted:
            interruptions += 1
            state = study.state
            resumed_mid_stage |= state.current is not None and state.current['trainer']['epoch'] > 0
        assert interruptions < 200, 'no progress between interruptions'
    assert interruptions >= 2 and resumed_mid_stage
    for key in ('charge_rmse_test', 'rdf_rmse_test'):
        assert metrics[key] == pytest.approx(reference[key], rel=1e-6)
    assert metrics['windows']['charge']['b']['rmse'] == pytest.approx(reference['windows']['charge']['b']['rmse'], rel=1e-6)
    assert metrics['cross_validation']['rdf']['candidates'][0]['fold_rmse'] == pytest.approx(
        reference['cross_validation']['rdf']['candidates'][0]['fold_rmse'], rel=1e-6
    )


def test_train_job_writes_models_that_predict(tmp_path, monkeypatch):
    from aiida_siox.ml import train_job

    data = synthetic_dataset(120, 6, seed=6)
    monkeypatch.chdir(tmp_path)
    np.savez('dataset.npz', **data)
    paper = PAPER_TINY
    (tmp_path / 'config.json').write_text(json.dumps({**SMALL, 'split': 'site', 'charge_epochs': 40, **paper}))
    assert train_job.main('dataset.npz', 'config.json') == 0
    metrics = json.loads((tmp_path / 'metrics.json').read_text())
    assert metrics['n_train'] + metrics['n_test'] == 120 and metrics['cross_validation']['charge']['folds'] == 2
    assert set(metrics['windows']['charge']) == set(evaluation.WINDOWS)
    assert metrics['baseline']['descriptors'] == list(baseline.DESCRIPTORS)
    assert metrics['averaged']['n_cells'] == 6
    assert metrics['paper_charge_rmse_test'] == metrics['paper']['charge']['test']['rmse']  # paper mode's metrics are JSON
    assert load_model((tmp_path / 'paper_rdf_model.pt').read_bytes())[1]['variant'] == 'paper'
    assert {p.name for p in tmp_path.glob('*.png')} == {'charge_parity.png', 'rdf_examples.png', 'windows.png', 'averaged.png'}
    charge_file, rdf_file = (tmp_path / 'charge_model.pt').read_bytes(), (tmp_path / 'rdf_model.pt').read_bytes()
    model, meta = load_model(charge_file)
    assert model.n_members == 2 and meta['kind'] == 'charge'
    predictions = np.load(tmp_path / 'predictions.npz')
    row = 3
    result = predict_spectrum(GRID, data['spectra'][row], charge_file, rdf_file)
    assert result['charge']['mean'][0] == pytest.approx(predictions['charge_mean'][row], abs=1e-4)
    assert result['rdf']['mean'].shape == (256,) and np.allclose(result['r'], data['r'])
    with pytest.raises(ValueError, match='expected a charge model'):
        predict_spectrum(GRID, data['spectra'][row], rdf_file, rdf_file)
    # beyond the paper: the coordination classifier's file answers with the probabilities the job wrote
    classifier = (tmp_path / 'coordination_model.pt').read_bytes()
    result = predict_spectrum(GRID, data['spectra'][row], charge_file, rdf_file, coordination_model=classifier)
    probabilities = result['coordination']['probabilities']
    assert probabilities.sum() == pytest.approx(1.0) and np.allclose(
        probabilities, predictions['coordination_probabilities'][row], atol=1e-5
    )
    assert result['coordination']['classes'] == ['Si0+', 'Si1+', 'Si2+', 'Si3+', 'Si4+']
    assert metrics['coordination']['test']['n'] == metrics['n_test']


def test_train_job_keeps_only_the_model_files_asked_for(tmp_path, monkeypatch):
    """A learning-curve point writes its numbers and no model; the reference training keeps no RDF window set."""
    from aiida_siox.ml import train_job

    monkeypatch.chdir(tmp_path)
    np.savez('dataset.npz', **synthetic_dataset(60, 4, seed=8))
    small = {**SMALL, 'charge_epochs': 3, 'rdf_epochs': 2, 'coordination_epochs': 2, 'cv_folds': 0, 'split': 'site'}
    (tmp_path / 'config.json').write_text(json.dumps({**small, 'window_models': ['charge']}))
    assert train_job.main('dataset.npz', 'config.json') == 0
    assert {p.name for p in tmp_path.glob('*.pt')} == {
        'charge_model.pt',
        'rdf_model.pt',
        'windows_charge_model.pt',
        'coordination_model.pt',
    }
    assert set(json.loads((tmp_path / 'metrics.json').read_text())['windows']) == {'charge', 'rdf'}  # both still scored
    for model in tmp_path.glob('*.pt'):
        model.unlink()
    (tmp_path / 'config.json').write_text(json.dumps({**small, 'save_models': False}))
    assert train_job.main('dataset.npz', 'config.json') == 0
    assert not list(tmp_path.glob('*.pt')) and (tmp_path / 'predictions.npz').is_file()
    with pytest.raises(ValueError, match=r"window_models must be a list of charge, rdf, got \['valence'\]"):
        check_config({'window_models': ['valence']})


def test_half_precision_models_are_half_the_size_and_every_number_is_theirs(tmp_path, monkeypatch):
    """model_precision 'float16' (the reference study's shipped model): each file holds float16 weights, is about
    half the float32 file, and the predictions and test RMSE the job stores are those of exactly these weights."""
    from aiida_siox.ml import train_job

    monkeypatch.chdir(tmp_path)
    data = synthetic_dataset(60, 4, seed=8)
    np.savez('dataset.npz', **data)
    small = {**SMALL, 'charge_epochs': 5, 'rdf_epochs': 3, 'coordination_epochs': 3, 'cv_folds': 0, 'split': 'site'}
    paper = PAPER_TINY
    sizes = {}
    for precision in ('float32', 'float16'):
        (tmp_path / 'config.json').write_text(json.dumps({**small, **paper, 'model_precision': precision}))
        assert train_job.main('dataset.npz', 'config.json') == 0
        sizes[precision] = {path.name: path.stat().st_size for path in tmp_path.glob('*.pt')}
    assert set(sizes['float16']) == {
        f'{name}_model.pt' for name in ('charge', 'rdf', 'coordination', 'paper_charge', 'paper_rdf', 'windows_charge', 'windows_rdf')
    }
    for name, size in sizes['float16'].items():  # every network of every stage: ensembles, paper mode, windows, classifier
        assert size < 0.6 * sizes['float32'][name], (name, sizes)
        stored = torch.load(io.BytesIO((tmp_path / name).read_bytes()), weights_only=True)['state_dict']
        assert {tensor.dtype for tensor in stored.values()} == {torch.float16}, name
    content = (tmp_path / 'charge_model.pt').read_bytes()
    model, _ = load_model(content)
    assert {p.dtype for p in model.parameters()} == {torch.float32}  # computed in float32 from the rounded weights
    predictions = np.load(tmp_path / 'predictions.npz')
    with torch.no_grad():
        scaled = inputs.normalise(data['spectra'], 'global', load_model(content)[1]['scale'])
        mean = model(torch.from_numpy(scaled.astype(np.float32)))[:, :, 0].mean(0).numpy()
    np.testing.assert_allclose(mean, predictions['charge_mean'], atol=1e-5)
    metrics = json.loads((tmp_path / 'metrics.json').read_text())
    test = predictions['is_test']
    assert metrics['charge']['test']['rmse'] == pytest.approx(float(np.sqrt(np.mean((mean[test] - data['charge'][test]) ** 2))), abs=1e-5)
    with pytest.raises(ValueError, match='model_precision must be one of float32, float16'):
        check_config({'model_precision': 'bfloat16'})


def test_spectrum_files(tmp_path):
    good = tmp_path / 'quartz.csv'
    good.write_text('energy,mu\n' + '\n'.join(f'{e},{np.exp(-((e - 1846) ** 2))}' for e in np.linspace(1825, 1885, 121)))
    energy, intensity = read_spectrum_file(good)
    assert len(energy) == 121 and intensity.max() == pytest.approx(1.0, abs=1e-3)
    xdi = tmp_path / 'sample.xdi'
    xdi.write_text('# XDI/1.0\n# Column.1: energy eV\n# Column.2: mu\n#----\n1830 0.1 0.5\n1850 0.2 0.5\n1880 0.3 0.5\n')
    assert read_spectrum_file(xdi)[1].tolist() == [0.1, 0.2, 0.3]
    one_column = tmp_path / 'one.txt'
    one_column.write_text('1830\n1840\n')
    with pytest.raises(inputs.SpectrumInputError, match='expected 2 columns'):
        read_spectrum_file(one_column)
    words = tmp_path / 'words.txt'
    words.write_text('1830 1\n1840 oops\n')
    with pytest.raises(inputs.SpectrumInputError, match='line 2: not numbers'):
        read_spectrum_file(words)
    two_headers = tmp_path / 'headers.txt'
    two_headers.write_text('energy mu\nnp.float64(1830.0) np.float64(1.0)\n1840 2\n')
    with pytest.raises(inputs.SpectrumInputError, match='line 2: not numbers'):
        read_spectrum_file(two_headers)


def test_xdi_columns_are_read_by_their_labels(tmp_path):
    """Column 2 of a beamline XDI file is often i0: the absorption is found by name, or computed from i0/itrans."""
    header = '# XDI/1.0\n# Column.1: energy eV\n# Column.2: i0\n# Column.3: {third}\n#----\n'
    rows = '1830 2.0 1.0\n1850 4.0 1.0\n1880 8.0 2.0\n'
    mutrans = tmp_path / 'mutrans.xdi'
    mutrans.write_text(header.format(third='mutrans') + rows)
    assert read_spectrum_file(mutrans)[1].tolist() == [1.0, 1.0, 2.0]  # column 3, not i0
    raw = tmp_path / 'raw.xdi'
    raw.write_text(header.format(third='itrans') + rows)
    energy, mu = read_spectrum_file(raw)
    assert energy.tolist() == [1830.0, 1850.0, 1880.0] and np.allclose(mu, np.log([2.0, 4.0, 4.0]))
    nothing = tmp_path / 'nothing.xdi'
    nothing.write_text(header.format(third='temperature') + rows)
    with pytest.raises(inputs.SpectrumInputError, match='no absorption column among its XDI Column labels'):
        read_spectrum_file(nothing)
    no_energy = tmp_path / 'no_energy.xdi'
    no_energy.write_text(header.replace('energy eV', 'angle deg').format(third='mutrans') + rows)
    with pytest.raises(inputs.SpectrumInputError, match='no `energy` column'):
        read_spectrum_file(no_energy)


def test_per_member_learning_rates_and_training_without_early_stopping():
    """Members with their own learning rates learn what each learns alone at that rate; without early
    stopping every member runs all epochs and the kept ("best") weights are the last epoch's."""
    data = synthetic_dataset(60, 6, seed=1)
    x = torch.from_numpy(inputs.normalise(data['spectra'], 'max'))
    y = torch.from_numpy(data['charge'].astype(np.float32)).reshape(-1, 1)
    rows, rates = np.arange(60), (1e-3, 3e-3)
    torch.manual_seed(0)
    pair = stacked_model('charge', 2, 256, 1)
    singles = [stacked_model('charge', 1, 256, 1) for _ in rates]
    with torch.no_grad():
        for m, single in enumerate(singles):
            for p_single, p_pair in zip(single.parameters(), pair.parameters(), strict=True):
                p_single.copy_(p_pair[m : m + 1])
    common = {'epochs': 6, 'batch_size': 16, 'patience': 1, 'early_stopping': False}
    trainer = StackedTrainer(
        pair, x, y, [rows, rows], [rows[:0], rows[:0]], TrainSettings(**common, member_learning_rates=rates), log=lambda _: None
    )
    trainer.run()
    assert trainer.epoch == 6 and trainer.best_epoch.tolist() == [6, 6]
    for m, (rate, single) in enumerate(zip(rates, singles, strict=True)):
        # the single trainer's order generator is member 0's: give it member m's seed
        settings = TrainSettings(**common, learning_rate=rate, seed=7919 * m)
        StackedTrainer(single, x, y, [rows], [rows[:0]], settings, log=lambda _: None).run()
        for p_single, p_pair in zip(single.parameters(), pair.parameters(), strict=True):
            assert torch.allclose(p_single[0], p_pair[m], atol=1e-5)
    with pytest.raises(ValueError, match='2 members need as many learning rates, got 1'):
        StackedTrainer(pair, x, y, [rows, rows], [rows, rows], TrainSettings(epochs=1, member_learning_rates=(1e-3,)))
    # lr 1e-2: the training loss rises in the last epoch; early stopping (patience 1) would keep epoch 9
    torch.manual_seed(0)
    settings = TrainSettings(epochs=10, learning_rate=1e-2, batch_size=16, patience=1, early_stopping=False)
    trainer = StackedTrainer(stacked_model('charge', 1, 256, 1), x, y, [rows], [rows[:0]], settings, log=lambda _: None)
    trainer.run()
    losses = [watched[0] for _, watched in trainer.history]
    assert losses[-1] > min(losses), 'the last epoch is the lowest: this test cannot tell "last" from "best"'
    assert trainer.epoch == 10 and trainer.best_epoch.tolist() == [10] and trainer.best_loss.tolist() == [losses[-1]]
    last = [p.detach().clone() for p in trainer.model.parameters()]
    for kept, now in zip(last, trainer.best_model().parameters(), strict=True):
        assert torch.equal(kept, now)


PAPER_SMALL = {
    'charge_epochs': 3,
    'rdf_epochs': 3,
    'coordination_epochs': 5,
    'ensemble_size': 1,
    'cv_folds': 0,
    'batch_size': 32,
    'windows': False,
    'patience': 8,
    'paper_mode': True,
    'paper_cv_folds': 3,
    'paper_learning_rates': [1e-7, 1e-3],
    'paper_charge_max_epochs': 40,
    'paper_rdf_max_epochs': 10,
}


def _early_stopping_best_epochs(watched: np.ndarray, patience: int) -> list[int]:
    """Best epoch (1-based) of each member from its watched-loss curve (epochs, members), as early stopping sees it."""
    best = []
    for curve in watched.T:
        lowest, epoch, since = np.inf, 0, 0
        for i, loss in enumerate(curve):
            if since >= patience:
                break
            if loss < lowest:
                lowest, epoch, since = loss, i + 1, 0
            else:
                since += 1
        best.append(epoch)
    return best


def test_paper_mode_picks_the_learning_rate_and_epochs_of_its_cross_validation():
    """1e-7 cannot learn in 40 epochs: the CV must pick 1e-3, and the retrained network must run
    exactly the rounded mean of 1e-3's best fold epochs (read back from the CV's loss curves)."""
    study = Study(synthetic_dataset(150, 8, seed=5), PAPER_SMALL, log=lambda _: None)
    metrics, _, models = study.run()
    charge = metrics['paper']['charge']
    cv = charge['cross_validation']
    absurd, good = cv['candidates']
    assert [absurd['learning_rate'], good['learning_rate']] == [1e-7, 1e-3]
    assert good['rmse_mean'] < 0.1 * absurd['rmse_mean']
    assert cv['learning_rate'] == charge['learning_rate'] == 1e-3
    # the reported best epochs are those of the fold curves: member i * k + f is rate i on fold f
    history = study.state.completed['paper_cv_charge']['history']
    assert _early_stopping_best_epochs(history[:, 1, :], 8) == absurd['best_epochs'] + good['best_epochs']
    assert len(set(good['best_epochs'])) > 1, 'all folds stopped at the same epoch: this test cannot tell a mean from a max'
    assert charge['epochs'] == cv['epochs'] == int(np.floor(np.mean(good['best_epochs']) + 0.5))
    final = study.state.completed['paper_final_charge']
    assert final['epochs_run'] == charge['epochs_run'] == charge['epochs']
    assert final['best_epoch'] == [charge['epochs']]  # no early stopping: the last epoch is kept
    assert final['model_shape']['n_members'] == 1 and models['paper_charge']['shape']['n_members'] == 1
    assert metrics['paper_charge_rmse_test'] == charge['test']['rmse'] < 0.2
    assert metrics['paper_charge_r2_test'] == charge['test']['r2']
    assert metrics['paper_rdf_rmse_test'] == metrics['paper']['rdf']['test']['rmse']
    assert set(metrics['paper']['rdf']['per_site_rmse_test']) == {'best', 'median', 'worst'}


def _model_bytes(content: dict) -> bytes:
    buffer = io.BytesIO()
    torch.save(content, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize('split', ['site', 'cell'])
def test_paper_mode_splits_by_site_whatever_the_split(split):
    """split='site': the paper's test rows are the ensemble's; split='cell': still a random site split
    (the same rows as split='site'), so test sites share cells with training sites, and the paper's
    network is normalised by its own training rows."""
    data = synthetic_dataset(150, 8, seed=5)
    by_site_train, by_site_test = splits.train_test_split(150, 0.2, seed=0)
    if split == 'cell':  # the brightest spectrum: in the paper's training rows, in the ensemble's test rows
        _, by_cell_test = splits.train_test_split(150, 0.2, seed=0, groups=splits.cell_groups(data['x'], data['seed']))
        data['spectra'][np.intersect1d(by_site_train, by_cell_test)[0]] *= 3.0
    config = {**PAPER_SMALL, 'split': split, 'paper_charge_max_epochs': 2, 'paper_rdf_max_epochs': 2}
    study = Study(data, config, log=lambda _: None)
    metrics, predictions, models = study.run()
    paper = metrics['paper']
    assert np.array_equal(study.paper_test_rows, by_site_test) and np.array_equal(study.paper_train_rows, by_site_train)
    assert np.array_equal(predictions['paper_is_test'], np.isin(np.arange(150), by_site_test))
    assert paper['split'] == 'site' and paper['n_test'] == paper['charge']['test']['n'] == len(by_site_test)
    cells = study.groups
    if split == 'site':
        assert np.array_equal(predictions['paper_is_test'], predictions['is_test'])
        assert paper['same_rows_as_ensemble'] and paper['beside_ensemble']['same_test_rows']
        assert paper['charge']['test']['n'] == metrics['charge']['test']['n']
    else:
        assert not np.array_equal(predictions['paper_is_test'], predictions['is_test'])
        assert not paper['same_rows_as_ensemble']
        assert set(cells[study.train_rows]).isdisjoint(cells[study.test_rows])
        assert not set(cells[study.paper_train_rows]).isdisjoint(cells[study.paper_test_rows])
    beside = paper['beside_ensemble']
    assert beside['charge_rmse_test'] == {'paper': paper['charge']['test']['rmse'], 'ensemble': metrics['charge_rmse_test']}
    assert beside['rdf_rmse_test'] == {'paper': paper['rdf']['test']['rmse'], 'ensemble': metrics['rdf_rmse_test']}
    # the paper's model files predict what the study did (normalised by the paper's own training rows)
    charge_file, rdf_file = _model_bytes(models['paper_charge']), _model_bytes(models['paper_rdf'])
    model, meta = load_model(charge_file)
    assert model.n_members == 1 and meta['kind'] == 'charge' and meta['variant'] == 'paper'
    assert meta['scale'] == pytest.approx(inputs.normalisation_scale(data['spectra'][by_site_train], 'global'), rel=1e-6)
    assert (meta['scale'] == study.scale) == (split == 'site')
    row = int(by_site_test[0])
    result = predict_spectrum(GRID, data['spectra'][row], charge_file, rdf_file)
    assert result['charge']['mean'][0] == pytest.approx(predictions['paper_charge'][row], abs=1e-4)


def test_epoch_limit_stops_every_job_after_its_epochs():
    """``epochs_per_job``: each job but the last trains exactly that many epochs (whatever the machine's speed),
    the jobs together train the uninterrupted run's epochs (none lost or repeated) and end with its numbers."""
    data = synthetic_dataset(200, 8, seed=5)
    uninterrupted = Study(data, SMALL, log=lambda _: None)
    reference, _, _ = uninterrupted.run()
    total = uninterrupted.budget.epochs_run
    state, epochs = None, []
    while True:
        study = Study(data, {**SMALL, 'epochs_per_job': 7}, log=lambda _: None, state=state)
        try:
            metrics, _, _ = study.run()
            epochs.append(study.budget.epochs_run)
            break
        except StudyInterrupted:
            epochs.append(study.budget.epochs_run)
            state = study.state
        assert len(epochs) < 200, 'no progress between jobs'
    assert len(epochs) >= 3 and set(epochs[:-1]) == {7} and 0 <= epochs[-1] <= 7
    assert sum(epochs) == total
    for key in ('charge_rmse_test', 'rdf_rmse_test'):
        assert metrics[key] == pytest.approx(reference[key], rel=1e-6)
    with pytest.raises(ValueError, match='epochs_per_job must be 0'):
        Study(data, {**SMALL, 'epochs_per_job': -1}, log=lambda _: None)


def test_interrupted_paper_mode_resumes_to_the_same_result():
    """Interrupted inside the paper's CV and retraining stages and continued, paper mode ends with the
    numbers, choices and weights of an uninterrupted run (CPU)."""
    data = synthetic_dataset(150, 8, seed=5)
    config = {**PAPER_SMALL, 'paper_learning_rates': [1e-3, 3e-3], 'paper_charge_max_epochs': 60, 'paper_rdf_max_epochs': 20}
    reference, _, reference_models = Study(data, config, log=lambda _: None).run()
    state, interruptions, interrupted_in = None, 0, set()
    while True:
        study = Study(data, {**config, 'max_seconds': 0.4}, log=lambda _: None, state=state)
        try:
            metrics, _, models = study.run()
            break
        except StudyInterrupted:
            interruptions += 1
            state = study.state
            if state.current is not None and state.current['trainer']['epoch'] > 0:
                interrupted_in.add(state.current['stage'])
        assert interruptions < 200, 'no progress between interruptions'
    assert {'paper_cv_charge', 'paper_cv_rdf'} <= interrupted_in, interrupted_in
    for key in ('paper_charge_rmse_test', 'paper_charge_r2_test', 'paper_rdf_rmse_test'):
        assert metrics[key] == pytest.approx(reference[key], rel=1e-6)
    for target in ('charge', 'rdf'):
        ours, theirs = metrics['paper'][target], reference['paper'][target]
        assert (ours['learning_rate'], ours['epochs']) == (theirs['learning_rate'], theirs['epochs'])
        for mine, reference_candidate in zip(ours['cross_validation']['candidates'], theirs['cross_validation']['candidates'], strict=True):
            assert mine['best_epochs'] == reference_candidate['best_epochs']
            assert mine['fold_rmse'] == pytest.approx(reference_candidate['fold_rmse'], rel=1e-6)
        if target == 'rdf':
            assert ours['per_site_rmse_test'] == pytest.approx(theirs['per_site_rmse_test'], rel=1e-6)
        else:
            classes = ours['by_coordination_test']
            assert {n: c['rmse'] for n, c in classes.items()} == pytest.approx(
                {n: c['rmse'] for n, c in theirs['by_coordination_test'].items()}, rel=1e-6
            )
        for name, tensor in models[f'paper_{target}']['state_dict'].items():
            assert torch.allclose(tensor, reference_models[f'paper_{target}']['state_dict'][name], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(
    ('setting', 'message'),
    [
        ({'paper_cv_folds': 1}, 'paper_cv_folds must be an integer of at least 2'),
        ({'paper_cv_folds': 2.5}, 'paper_cv_folds must be an integer of at least 2'),
        ({'paper_learning_rates': []}, 'paper_learning_rates must be a non-empty list'),
        ({'paper_learning_rates': 1e-3}, 'paper_learning_rates must be a non-empty list'),
        ({'paper_learning_rates': [1e-3, 0.0]}, 'paper_learning_rates must hold positive numbers, got 0.0'),
        ({'paper_charge_max_epochs': 0}, 'paper_charge_max_epochs must be a positive integer, got 0'),
        ({'paper_rdf_max_epochs': -5}, 'paper_rdf_max_epochs must be a positive integer, got -5'),
        ({'paper_mode': 'yes'}, 'paper_mode must be true or false'),
    ],
)
def test_bad_paper_settings_are_named(setting, message):
    with pytest.raises(ValueError, match=message):
        check_config(setting)


def test_paper_mode_defaults_and_too_few_rows():
    config = check_config({})
    assert config['paper_mode'] is False and config['paper_cv_folds'] == 5
    assert config['paper_learning_rates'] == [3e-4, 1e-3, 3e-3]
    small = {**PAPER_SMALL, 'paper_cv_folds': 10, 'paper_charge_max_epochs': 2, 'paper_rdf_max_epochs': 2}
    metrics, predictions, models = Study(synthetic_dataset(10, 2, seed=5), small, log=lambda _: None).run()
    assert metrics['paper']['skipped'] == '10-fold cross-validation needs at least 10 training rows, got 8'
    assert metrics['paper_charge_rmse_test'] is None and set(models) == {'charge', 'rdf', 'coordination'}  # no paper models
    assert 'paper_is_test' not in predictions
    metrics, _, models = Study(synthetic_dataset(10, 2, seed=5), {**small, 'paper_mode': False}, log=lambda _: None).run()
    assert 'paper' not in metrics and 'paper_charge_rmse_test' not in metrics and set(models) == {'charge', 'rdf', 'coordination'}


def test_report_gives_the_training_jobs_fixed_cost_apart_from_its_epochs():
    from aiida_siox.report import training_cost_lines

    metrics = {
        'fixed_cost': {'start_seconds': 0.04, 'imports_seconds': 1.23, 'data_load_seconds': 0.004},
        'charge': {'epochs_run': 40, 'seconds_per_epoch': 0.0101},
        'rdf': {'epochs_run': 40, 'seconds_per_epoch': 0.027},
    }
    assert training_cost_lines(metrics) == [
        '- job fixed cost: interpreter start 0.0 s, imports 1.2 s, data load 0.00 s; ensembles: charge 40 epochs x 10 ms, '
        'rdf 40 epochs x 27 ms'
    ]
    assert training_cost_lines({'charge': {}, 'rdf': {}}) == []  # a job from before the fixed cost was recorded


def test_the_training_package_imports_alone_as_on_a_compute_node(tmp_path):
    """The training job copies aiida_siox/ml/*.py as `siox_ml` to a node without AiiDA or aiida_siox: no module of it
    may import the rest of aiida_siox (edge-step normalisation and the spectrum error live in ml/ for that)."""
    import pathlib
    import shutil
    import subprocess
    import sys

    import aiida_siox.ml

    package = tmp_path / 'siox_ml'
    package.mkdir()
    for module in pathlib.Path(aiida_siox.ml.__file__).parent.glob('*.py'):
        shutil.copy(module, package / module.name)
    code = "import sys; sys.modules['aiida_siox'] = None; sys.modules['aiida'] = None; import siox_ml.train_job, siox_ml.prediction"
    result = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_resolution_broadens_every_training_spectrum_and_is_recorded():
    from aiida_siox.ml.study import Study

    data = synthetic_dataset(40, 4, seed=2)
    sharp = Study(data, {**SMALL, 'windows': False}, log=lambda _: None)
    broad = Study(data, {**SMALL, 'windows': False, 'resolution_ev': 1.0}, log=lambda _: None)
    assert np.all(broad.spectra.max(axis=1) < sharp.spectra.max(axis=1))  # the white lines lose height
    assert np.allclose(broad.spectra.mean(axis=1), sharp.spectra.mean(axis=1), rtol=0.02)  # area is kept
    with pytest.raises(ValueError, match='resolution_ev must be 0'):
        Study(data, {**SMALL, 'resolution_ev': -1.0}, log=lambda _: None)
