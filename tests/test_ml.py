"""The learning code without AiiDA: models, splits, inputs, baseline, training, checkpoints, prediction."""

import json

import numpy as np
import pytest
import torch

from aiida_siox.ml import baseline, evaluation, inputs, splits
from aiida_siox.ml.models import stacked_model
from aiida_siox.ml.prediction import load_model, predict_spectrum, read_spectrum_file
from aiida_siox.ml.study import Study, StudyInterrupted, check_config
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


SMALL = {'charge_epochs': 12, 'rdf_epochs': 8, 'ensemble_size': 2, 'cv_folds': 2, 'batch_size': 32, 'split': 'cell', 'windows': True}


def test_interrupted_study_resumes_to_the_same_result():
    """Stopped by its time limit wherever it happens to be (mid-stage too) and continued from its
    state, again and again, the study ends with the numbers of an uninterrupted run (CPU)."""
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
    (tmp_path / 'config.json').write_text(json.dumps({**SMALL, 'split': 'site', 'charge_epochs': 40}))
    assert train_job.main('dataset.npz', 'config.json') == 0
    metrics = json.loads((tmp_path / 'metrics.json').read_text())
    assert metrics['n_train'] + metrics['n_test'] == 120 and metrics['cross_validation']['charge']['folds'] == 2
    assert set(metrics['windows']['charge']) == set(evaluation.WINDOWS)
    assert metrics['baseline']['descriptors'] == list(baseline.DESCRIPTORS)
    assert metrics['averaged']['n_cells'] == 6
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
