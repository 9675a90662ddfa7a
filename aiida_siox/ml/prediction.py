"""Prediction for a new spectrum: put it on the grid, run the ensembles (or a sub-window network).

Reading the files is :mod:`aiida_siox.ml.spectrum_files`; the checks of a measured spectrum are
:mod:`aiida_siox.analysis.measured_spectrum`.
"""

from __future__ import annotations

import io

import numpy as np
import torch

from .coordination import class_probabilities
from .domain import domain_warnings
from .inputs import SpectrumInputError, normalise, resample_to_grid
from .models import StackedMLP
from .study import MODEL_FORMAT
from .trainer import predict


def load_model(content: bytes) -> tuple[StackedMLP, dict]:
    """A model file written by the training job: the stacked ensemble and how to prepare inputs."""
    meta = torch.load(io.BytesIO(content), map_location='cpu', weights_only=True)
    if not isinstance(meta, dict) or meta.get('format') != MODEL_FORMAT:
        raise ValueError(f'not a {MODEL_FORMAT} model file (was it written by the siox training job?)')
    model = StackedMLP(**meta['shape'])
    model.load_state_dict(meta['state_dict'])
    return model.eval(), meta


def prepare_input(energy: np.ndarray, intensity: np.ndarray, meta: dict) -> np.ndarray:
    """The spectrum resampled onto the model's grid and scaled as its training set was."""
    start, end, points = meta['energy_grid']
    grid = np.linspace(start, end, int(points))
    on_grid = resample_to_grid(energy, intensity, grid)
    return normalise(on_grid[None, :], meta['normalisation'], meta['scale'], grid)


def covers(energy: np.ndarray, start: float, end: float) -> bool:
    """Whether the spectrum's energies reach from ``start`` to ``end``."""
    tolerance = 1e-6 * (end - start)
    return float(np.min(energy)) <= start + tolerance and float(np.max(energy)) >= end - tolerance


def predict_ensemble(energy: np.ndarray, intensity: np.ndarray, content: bytes, kind: str) -> dict:
    """The ensemble's members, mean, spread and domain warnings for a spectrum covering the model's grid."""
    model, meta = _load_kind(content, kind)
    prepared = prepare_input(energy, intensity, meta)
    with torch.no_grad():
        members = model(torch.from_numpy(prepared))[:, 0, :].numpy().astype(float)  # (M, n_out)
    result = {'members': members, 'mean': members.mean(axis=0), 'std': members.std(axis=0), 'meta': meta}
    result['warnings'] = domain_warnings(prepared[0], result['mean'], meta.get('domain'), kind)
    return result


def predict_window(energy: np.ndarray, intensity: np.ndarray, content: bytes, kind: str) -> dict:
    """For a spectrum covering part of the grid: the network of the best sub-window it covers.

    Among the windows of the model file (``windows_<kind>_model``) that lie wholly inside the
    spectrum, the one with the lowest test RMSE answers; one network, so no ensemble spread. The
    window, its test RMSE and the domain check over its own points come with the result.

    :raises SpectrumInputError: when no window lies inside the spectrum, or the model's normalisation
        needs the whole grid.
    """
    model, meta = _load_kind(content, kind)
    if meta['normalisation'] != 'global':
        raise SpectrumInputError(
            f"a spectrum that covers only part of the window needs models trained with normalisation 'global' "
            f'(the {meta["normalisation"]!r} normalisation of these is computed over the whole window)'
        )
    start, end, points = meta['energy_grid']
    grid = np.linspace(start, end, int(points))
    windows = [window for window in meta['windows'] if covers(energy, *window['range_ev'])]
    if not windows:
        widest = max(meta['windows'], key=lambda w: w['range_ev'][1] - w['range_ev'][0])['range_ev']
        narrowest = min(meta['windows'], key=lambda w: w['range_ev'][1] - w['range_ev'][0])['range_ev']
        raise SpectrumInputError(
            f'the spectrum covers {np.min(energy):.2f}-{np.max(energy):.2f} eV: no window of the models lies inside it '
            f'(the whole grid is {start:.0f}-{end:.0f} eV; the narrowest window {narrowest[1] - narrowest[0]:.2f} eV, '
            f'the widest {widest[0]:.0f}-{widest[1]:.0f} eV)'
        )
    best = min(windows, key=lambda window: window['test_rmse'])
    index = [window['name'] for window in meta['windows']].index(best['name'])
    mask = np.asarray(best['mask'], np.float32)
    on_grid = np.zeros(len(grid))
    inside = mask > 0
    order = np.argsort(energy)
    on_grid[inside] = np.interp(grid[inside], np.asarray(energy)[order], np.asarray(intensity)[order])
    prepared = normalise(on_grid[None, :], 'global', meta['scale'], grid) * mask
    masks = torch.from_numpy(np.asarray([window['mask'] for window in meta['windows']], np.float32))
    value = predict(model, torch.from_numpy(prepared), masks)[index, 0, :].astype(float)
    return {
        'members': value[None, :],
        'mean': value,
        'std': np.zeros_like(value),
        'meta': meta,
        'window': {'name': best['name'], 'range_ev': list(best['range_ev']), 'test_rmse': float(best['test_rmse'])},
        'warnings': domain_warnings(prepared[0][inside], value, best['domain'], kind),
    }


def predict_coordination(energy: np.ndarray, intensity: np.ndarray, content: bytes) -> dict | None:
    """P(n_O = 0..4) of the Si that absorbed (beyond the paper); None when the spectrum does not cover the model's grid."""
    model, meta = _load_kind(content, 'coordination')
    if not covers(energy, *meta['energy_grid'][:2]):
        return None
    prepared = prepare_input(energy, intensity, meta)
    probabilities = class_probabilities(model, torch.from_numpy(prepared))[0].astype(float)
    classes = list(meta['classes'])
    return {
        'probabilities': probabilities,
        'classes': classes,
        'most_likely': classes[int(np.argmax(probabilities))],
        'test_accuracy': meta.get('test_accuracy'),
        'warnings': domain_warnings(prepared[0], None, meta.get('domain'), 'coordination'),
    }


def _load_kind(content: bytes, kind: str) -> tuple[StackedMLP, dict]:
    model, meta = load_model(content)
    if meta['kind'] != kind:
        raise ValueError(f'expected a {kind} model, got a {meta["kind"]} model')
    return model, meta


def predict_spectrum(
    energy: np.ndarray,
    intensity: np.ndarray,
    charge_model: bytes,
    rdf_model: bytes,
    charge_windows_model: bytes | None = None,
    rdf_windows_model: bytes | None = None,
    coordination_model: bytes | None = None,
) -> dict:
    """Si valence and RDF for one spectrum: the ensembles' mean and spread when it covers the grid, else
    the best sub-window network it covers (with the window models given); each with the warnings of
    :func:`~aiida_siox.ml.domain.domain_warnings` (input or output outside the training domain)."""
    results = {}
    for kind, content, windows in (('charge', charge_model, charge_windows_model), ('rdf', rdf_model, rdf_windows_model)):
        start, end, _ = load_model(content)[1]['energy_grid']
        if covers(energy, start, end) or windows is None:
            results[kind] = predict_ensemble(energy, intensity, content, kind)
        else:
            results[kind] = predict_window(energy, intensity, windows, kind)
        if kind == 'rdf':
            results['r'] = np.asarray(results[kind]['meta']['r_grid'], float)
    coordination = predict_coordination(energy, intensity, coordination_model) if coordination_model is not None else None
    if coordination is not None:
        results['coordination'] = coordination
    if not np.isfinite(results['charge']['mean']).all():
        raise SpectrumInputError('the prediction is not finite: check the spectrum')
    return results
