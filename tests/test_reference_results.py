"""reference_study/results.py on a synthetic study: its tables copy the numbers of the files they read."""

import importlib.util
import json
import pathlib

import numpy as np
import pytest

from aiida_siox.ml.study import Study
from aiida_siox.ml.synthetic import synthetic_dataset

ROOT = pathlib.Path(__file__).resolve().parents[1]
SMALL = {'charge_epochs': 8, 'rdf_epochs': 4, 'coordination_epochs': 5, 'ensemble_size': 2, 'cv_folds': 0, 'batch_size': 32}
PAPER = {'paper_mode': True, 'paper_cv_folds': 2, 'paper_learning_rates': [1e-3], 'paper_charge_max_epochs': 3, 'paper_rdf_max_epochs': 3}


def results_module():
    spec = importlib.util.spec_from_file_location('reference_results', ROOT / 'reference_study' / 'results.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def study(tmp_path_factory):
    """The files `study.py finish` writes, from real (tiny) trainings on a synthetic dataset of 6 cells."""
    folder = tmp_path_factory.mktemp('study')
    data = synthetic_dataset(150, 6, seed=3)
    quiet = {'log': lambda _: None}
    shipped, predictions, _ = Study(data, {**SMALL, 'split': 'site', **PAPER}, **quiet).run()
    # the tables read the sub-windows and the classifier of the shipped training only
    only_targets = {'windows': False, 'coordination': False}
    by_cell, _, _ = Study(data, {**SMALL, 'split': 'cell', **only_targets}, **quiet).run()
    curve = {'split': 'site', **only_targets}
    point, _, _ = Study(data, {**SMALL, **curve, 'train_fraction': 0.3}, **quiet).run()
    whole, _, _ = Study(data, {**SMALL, **curve}, **quiet).run()
    metrics = {
        'final': {'uuid': 'u-final', **shipped},
        'training_cell': by_cell,
        'learning_curve_0.30': point,
        'learning_curve_1.00': whole,
    }
    (folder / 'metrics.json').write_text(json.dumps(metrics))
    np.savez(folder / 'dataset.npz', **data)
    np.savez(folder / 'predictions.npz', **predictions)
    cells = [
        {
            'chunk': f'x{x:.2f}'.replace('.', 'p'),
            'x': x,
            'n_atoms': 24,
            'density_g_cm3': rho,
            'valid': True,
            'largest_void_radius_A': 3.0,
            'fraction_fourfold_si': 0.5,
            'oxidation_classes': {'Si0+': 1, 'Si1+': 1, 'Si2+': 2, 'Si3+': 0, 'Si4+': 4},
            'sites_done': 8,
            'sites_failed': [],
            'site_seconds': [20.0, 40.0],
            'md_seconds': 30.0,
            'bader_seconds': 50.0,
        }
        for x, rho in ((0.0, 2.2), (0.0, 2.4), (2.0, 2.3))
    ]
    summary = {'chunk_wall_seconds': {'x0p00': 1800.0, 'x2p00': 1800.0}, 'training_seconds': {'final': 360.0}, 'cells': cells}
    (folder / 'cells.json').write_text(json.dumps(summary))
    return folder, metrics


def test_results_tables_copy_the_stored_numbers(study):
    folder, metrics = study
    path = results_module().write_results(folder)
    text = path.read_text()
    site, cell = metrics['final'], metrics['training_cell']
    headline = next(line for line in text.splitlines() if line.startswith('| Si valence test RMSE'))
    assert headline == (
        f'| Si valence test RMSE (e) | 0.110 | {site["charge"]["test"]["rmse"]:.3f} '
        f'| {site["paper"]["charge"]["test"]["rmse"]:.3f} | {cell["charge"]["test"]["rmse"]:.3f} |'
    )
    ratio = site['baseline']['test']['rmse'] / site['charge']['test']['rmse']
    assert f'| MLP / baseline RMSE | 2.8x | {ratio:.1f}x |' in text
    assert '| 0.00 | 2/2 | 24 | 2.30 (2.20-2.40) | 2.25 |' in text  # density mean (min-max) of the two x = 0 cells
    assert '| 0.00 | 16 | 0 | 30.0 | 30 | 50 | 30.0 |' in text  # sites, failures, s per site, MD, Bader, chunk minutes
    curve = [line for line in text.split('## Learning curve')[1].split('##')[0].splitlines() if line.startswith('| ') and line[2].isdigit()]
    assert [int(line.split('|')[1]) for line in curve] == sorted(
        [point['n_train'] for name, point in metrics.items() if name.startswith('learning')]
    )
    assert f'| {metrics["learning_curve_1.00"]["charge_rmse_test"]:.3f} |' in curve[-1]
    assert f'| {site["coordination"]["test"]["accuracy"]:.3f} |' in text
    assert 'its networks stored in float32 (every prediction and test score here is of those weights)' in text
    # what protocol `paper` would cost: 30 s per site on 2 cores, 8x the atoms (N^2-N^3), 50 Ry (3-4x)
    assert "make a site 3-34 core-hours, so the paper's 5,310 sites 17k-181k core-hours" in text
    assert {p.name for p in (folder / 'figures').iterdir()} == {
        'parity_by_n_o.png',
        'mean_spectra.png',
        'edge_vs_valence.png',
        'learning_curve.png',
    }
