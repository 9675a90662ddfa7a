"""The reference study's shipped files (issue 18) agree with each other and with their archives.

- ``dataset.npz`` covers the paper's design, and the shipped charge model (read from
  ``archives/final.aiida``) reproduces the stored test RMSE (``metrics.json``, a copy of the training's
  metrics node) from the stored rows: no profile.
- In a fresh profile of its own (its own ``AIIDA_PATH``), ``siox predict`` with no ``--model`` imports
  the shipped model and reads a row's spectrum as the training did; after ``siox reference import``
  (every archive), every row's structure, spectrum and charge UUIDs resolve to nodes of the right kind.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import torch

from aiida_siox.ml.evaluation import rmse
from aiida_siox.ml.prediction import load_model, prepare_input

ROOT = next(folder for folder in pathlib.Path(__file__).resolve().parents if (folder / 'pyproject.toml').is_file())
STUDY = ROOT / 'reference_study'
COMPOSITIONS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0)
SEEDS = (1, 2, 3, 4, 5)
#: Sites per cell in the protocol `reference` (8 of the 9-10 Si of an x = 1.75-2 cell).
SITES_PER_CELL = 8


@pytest.fixture(scope='module')
def shipped() -> dict:
    with np.load(STUDY / 'dataset.npz') as archive:
        dataset = {name: archive[name] for name in archive.files}
    with np.load(STUDY / 'predictions.npz') as archive:
        predictions = {name: archive[name] for name in archive.files}
    metrics = json.loads((STUDY / 'metrics.json').read_text())
    return {'dataset': dataset, 'predictions': predictions, 'metrics': metrics}


def shipped_model_file(metrics: dict, label: str) -> bytes:
    """A model file of the shipped training, read from ``archives/final.aiida`` (no profile needed)."""
    from aiida import orm
    from aiida.tools.archive.abstract import get_format

    uuid = metrics['final']['models'][label]
    with get_format().open(STUDY / 'archives' / 'final.aiida', 'r') as reader:
        (node,) = reader.querybuilder().append(orm.SinglefileData, filters={'uuid': uuid}).one()
        return node.get_content(mode='rb')


def test_the_dataset_covers_every_composition_and_seed(shipped):
    dataset = shipped['dataset']
    cells = {(round(float(x), 2), int(seed)) for x, seed in zip(dataset['x'], dataset['seed'], strict=True)}
    assert cells == {(x, seed) for x in COMPOSITIONS for seed in SEEDS}
    expected = len(COMPOSITIONS) * len(SEEDS) * SITES_PER_CELL
    assert len(dataset['charge']) >= 0.95 * expected, f'{len(dataset["charge"])} rows of ~{expected}'
    assert len(set(dataset['spectrum_uuid'])) == len(dataset['charge'])  # one row per computed site
    assert shipped['metrics']['final']['n_rows'] == len(dataset['charge'])


def test_the_shipped_charge_model_reproduces_the_stored_test_rmse(shipped):
    """The model file, applied to the stored spectra, gives the stored predictions and the stored test RMSE."""
    dataset, predictions = shipped['dataset'], shipped['predictions']
    charge_metrics = shipped['metrics']['final']['charge']
    model, meta = load_model(shipped_model_file(shipped['metrics'], 'charge_model'))
    inputs = np.concatenate([prepare_input(dataset['energy'], spectrum, meta) for spectrum in dataset['spectra']])
    with torch.no_grad():
        members = model(torch.from_numpy(inputs.astype(np.float32)))[:, :, 0].numpy()  # (members, rows)
    assert members.shape[0] == charge_metrics['ensemble_size']
    mean = members.mean(axis=0)
    np.testing.assert_allclose(mean, predictions['charge_mean'], atol=1e-4)
    test = predictions['is_test']
    assert test.sum() == shipped['metrics']['final']['n_test']
    assert rmse(dataset['charge'][test], mean[test]) == pytest.approx(charge_metrics['test']['rmse'], abs=1e-4)
    # and the model learned something: well below the spread of the charges themselves
    assert charge_metrics['test']['rmse'] < 0.5 * float(np.std(dataset['charge'][test]))


RESOLVE = """
import json, sys
from aiida import load_profile, orm

load_profile(sys.argv[1])
rows = json.loads(open(sys.argv[2]).read())
found = {}
for column, kind in (('structure_uuid', orm.StructureData), ('spectrum_uuid', orm.XyData), ('charge_uuid', orm.Node)):
    query = orm.QueryBuilder().append(kind, filters={'uuid': {'in': rows[column]}}, project='uuid')
    found[column] = sorted(set(query.all(flat=True)))
print(json.dumps(found))
"""


@pytest.mark.codes
def test_a_fresh_profile_predicts_with_the_shipped_model_and_resolves_every_row(shipped, tmp_path):
    """What a new user gets: no model of their own, then the archives of the whole study."""
    spec = importlib.util.spec_from_file_location('study', STUDY / 'study.py')
    study = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(study)
    env = {**os.environ, 'AIIDA_PATH': str(tmp_path / 'aiida')}
    bin_dir = pathlib.Path(sys.executable).parent

    def run(*args: str) -> str:
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=1200)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    run(str(bin_dir / 'verdi'), 'presto', '--use-zeromq', '--profile-name', 'fresh')
    dataset, predictions = shipped['dataset'], shipped['predictions']
    row = int(np.flatnonzero(predictions['is_test'])[0])
    spectrum = tmp_path / 'row.csv'
    np.savetxt(spectrum, np.column_stack([dataset['energy'], dataset['spectra'][row]]), delimiter=',', header='energy_ev,mu')
    table = tmp_path / 'prediction.csv'
    output = run(str(bin_dir / 'siox'), 'predict', '--profile', 'fresh', str(spectrum), '--table', str(table))
    assert 'first use' in output and "model: the reference study's" in output, output
    with table.open() as handle:
        (answer,) = list(csv.DictReader(handle))
    assert float(answer['si_valence_e']) == pytest.approx(float(predictions['charge_mean'][row]), abs=1e-3)

    output = run(str(bin_dir / 'siox'), 'reference', 'import', '--profile', 'fresh')
    chunks = [line.split(':')[0].split()[-1] for line in output.splitlines() if line.startswith('[')]
    assert chunks == [f'{chunk}.aiida' for chunk in study.CHUNKS] + ['final.aiida'], output  # every archive, in order
    assert 'final.aiida: already in this profile' in output  # `siox predict` imported it
    rows = {column: sorted(set(dataset[column].tolist())) for column in ('structure_uuid', 'spectrum_uuid', 'charge_uuid')}
    (tmp_path / 'rows.json').write_text(json.dumps(rows))
    found = json.loads(run(sys.executable, '-c', RESOLVE, 'fresh', str(tmp_path / 'rows.json')).splitlines()[-1])
    for column, wanted in rows.items():
        assert found[column] == wanted, f'{column}: {len(set(wanted) - set(found[column]))} of {len(wanted)} do not resolve'
