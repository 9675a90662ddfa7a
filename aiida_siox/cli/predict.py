"""``siox predict``: a user's spectrum -> Si valence and RDF with uncertainty, recorded in the graph."""

from __future__ import annotations

import pathlib

import numpy as np
from aiida import orm

from aiida_siox.analysis.measured_spectrum import SpectrumInputError, reference_shift
from aiida_siox.calculations.prediction import predict_from_spectrum, reference_energy_shift, shift_spectrum_energy, spectrum_node
from aiida_siox.ml.grid import GRID_END_EV, GRID_START_EV, QUARTZ_MAIN_PEAK_EV
from aiida_siox.ml.inputs import resample_to_grid
from aiida_siox.ml.prediction import covers, load_model


class ModelNotFound(ValueError):
    """The node given as --model holds no pair of trained models."""


def find_models(node: orm.Node) -> dict[str, orm.SinglefileData]:
    """The model files of a training job or workchain, a dataset workchain, or one model file, by output name:
    ``charge_model`` and ``rdf_model``, and ``windows_charge_model`` / ``windows_rdf_model`` /
    ``coordination_model`` where written."""
    if isinstance(node, orm.SinglefileData):
        creator = node.creator
        if creator is None or 'charge_model' not in creator.outputs:
            raise ModelNotFound(f'SinglefileData<{node.pk}> was not written by a training job')
        node = creator
    if isinstance(node, orm.ProcessNode):
        outputs = node.outputs
        if 'training' in outputs and 'charge_model' in outputs.training:
            outputs = outputs.training
        if 'charge_model' in outputs and 'rdf_model' in outputs:
            names = ('charge_model', 'rdf_model', 'windows_charge_model', 'windows_rdf_model', 'coordination_model')
            return {name: outputs[name] for name in names if name in outputs}
        raise ModelNotFound(f'{node.process_label}<{node.pk}> has no trained models among its outputs (did it finish?)')
    raise ModelNotFound(f'{type(node).__name__}<{node.pk}> is not a training job, a dataset workchain or a model file')


#: File name endings read as spectra when a directory is given.
SPECTRUM_SUFFIXES = ('.txt', '.csv', '.dat', '.xdi', '.xmu', '.nor')


def spectrum_files(paths: list[pathlib.Path]) -> list[pathlib.Path]:
    """The files given, with each directory replaced by its spectrum files (sorted by name)."""
    files = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SPECTRUM_SUFFIXES)
            if not found:
                raise SpectrumInputError(f'{path}: a directory with no spectrum files ({", ".join(SPECTRUM_SUFFIXES)})')
            files.extend(found)
        else:
            files.append(path)
    return files


def prepare_spectra(
    paths: list[pathlib.Path], models: dict[str, orm.SinglefileData], shift: float | None = None, reference: pathlib.Path | None = None
) -> tuple[list[orm.XyData], orm.XyData | None, float]:
    """Read and check every file (nothing stored): the spectrum nodes, the reference's node and the shift.

    :param models: as returned by :func:`find_models`.
    :raises SpectrumInputError: one line per file at fault, all of them, before anything is stored.
    """
    start, end, points = load_model(models['charge_model'].get_content(mode='rb'))[1]['energy_grid']
    grid = np.linspace(start, end, int(points))
    charge_windows = models.get('windows_charge_model')
    windows = load_model(charge_windows.get_content(mode='rb'))[1] if charge_windows is not None else None
    if shift is not None and reference is not None:
        raise SpectrumInputError('give --shift or --reference, not both')
    reference_node = spectrum_node(reference) if reference is not None else None
    if reference_node is not None:
        shift = reference_shift(reference_node.get_x()[1], reference_node.get_y()[0][1])
    shift = float(shift or 0.0)
    nodes, errors = [], []
    for path in spectrum_files(paths):
        try:
            node = spectrum_node(path)
            check_coverage(node.get_x()[1] + shift, node.get_y()[0][1], grid, windows)
        except SpectrumInputError as exception:
            message = str(exception)
            errors.append(message if message.startswith(path.name) or message.startswith(str(path)) else f'{path.name}: {message}')
            continue
        nodes.append(node)
    if errors:
        raise SpectrumInputError('\n'.join(errors))
    return nodes, reference_node, shift


def check_coverage(energy: np.ndarray, intensity: np.ndarray, grid: np.ndarray, windows: dict | None) -> None:
    """A spectrum must cover the model's grid, or (with sub-window models) at least one of their windows."""
    try:
        resample_to_grid(energy, intensity, grid)
        return
    except SpectrumInputError as exception:
        if windows is None:
            raise SpectrumInputError(f'{exception} (a training with `windows: true` can answer for part of it)') from None
        if windows['normalisation'] != 'global':
            raise SpectrumInputError(
                f"{exception} (the sub-window networks answer for part of it only with normalisation 'global'; "
                f'these use {windows["normalisation"]!r}, computed over the whole window)'
            ) from None
    if not any(covers(energy, *window['range_ev']) for window in windows['windows']):
        narrowest = min(w['range_ev'][1] - w['range_ev'][0] for w in windows['windows'])
        raise SpectrumInputError(
            f'the spectrum covers {energy.min():.2f}-{energy.max():.2f} eV: it holds none of the sub-windows of the models '
            f'(at least {narrowest:.2f} eV of {grid[0]:.0f}-{grid[-1]:.0f} eV in one of the windows of docs/ml.md)'
        )


def predict_files(
    paths: list[pathlib.Path], model: orm.Node, shift: float | None = None, reference: pathlib.Path | None = None
) -> list[dict]:
    """Predictions for spectrum files (each recorded in the graph), after checking all of them.

    With ``shift`` (eV) or a quartz ``reference`` file, the energies are calibrated first by the
    calcfunction ``shift_spectrum_energy``; with a reference, the shift itself is made by
    ``reference_energy_shift`` from the stored reference spectrum.
    """
    models = find_models(model)
    windows = {f'{kind}_windows_model': models[f'windows_{kind}_model'] for kind in ('charge', 'rdf') if f'windows_{kind}_model' in models}
    if 'coordination_model' in models:
        windows['coordination_model'] = models['coordination_model']
    nodes, reference_node, shift_ev = prepare_spectra(paths, models, shift, reference)
    if reference_node is not None:
        shift_node = reference_energy_shift(reference_node.store(), orm.Float(QUARTZ_MAIN_PEAK_EV))
    elif shift is not None:
        shift_node = orm.Float(shift_ev).store()
    else:
        shift_node = None
    results = []
    for node in nodes:
        spectrum = node.store()
        if shift_node is not None:
            spectrum = shift_spectrum_energy(spectrum, shift_node)
        prediction = predict_from_spectrum(spectrum, models['charge_model'], models['rdf_model'], **windows)
        results.append({'file': spectrum.base.attributes.get('source_filename'), 'shift_ev': shift_ev, **prediction})
    return results


def prediction_text(path: pathlib.Path | str, result: dict) -> str:
    charge, rdf = result['charge'], result['rdf']
    r, mean = rdf.get_array('r'), rdf.get_array('mean')
    first = int(np.argmax(mean))
    calc = charge.creator
    spectrum = calc.inputs.spectrum
    name = pathlib.Path(path).name
    lines = [f'spectrum {name}: XyData<{spectrum.pk}>']
    notes = (spectrum.creator.inputs.spectrum if spectrum.creator else spectrum).base.attributes.get('preparation_notes', [])
    lines += [f'  read: {note}' for note in notes]
    if spectrum.creator is not None and spectrum.creator.process_label == 'shift_spectrum_energy':
        shift = spectrum.creator.inputs.shift
        made = shift.creator
        source = f'from the reference {made.inputs.reference.base.attributes.get("source_filename")}' if made else 'given'
        lines.append(f'energy shift: {shift.value:+.3f} eV ({source}; Float<{shift.pk}>)')
    window = charge.get('window')
    if window is not None:
        start, end = window['range_ev']
        lines.append(
            f'partial spectrum: answered by the {start:.2f}-{end:.2f} eV window network ({window["name"]}, one network, '
            f'test RMSE {window["test_rmse"]:.3f} e; no ensemble spread)'
        )
    lines += [
        f'Si valence (Bader): {charge["mean"]:+.3f} +- {charge["std"]:.3f} e  ({len(charge["members"])} ensemble members)',
        f'RDF: highest peak at {r[first]:.2f} A (g = {mean[first]:.2f} +- {rdf.get_array("std")[first]:.2f})',
        f'recorded as {calc.process_label}<{calc.pk}>: charge Dict<{charge.pk}>, RDF ArrayData<{rdf.pk}>'
        + (f', coordination Dict<{result["coordination"].pk}>' if 'coordination' in result else ''),
    ]
    coordination = result.get('coordination')
    if coordination is not None:
        shares = ', '.join(f'{name} {p:.2f}' for name, p in zip(coordination['classes'], coordination['probabilities'], strict=True))
        lines.insert(
            -1,
            f'Si coordination class: {coordination["most_likely"]} most likely ({shares}; test accuracy {accuracy:.2f})'
            if (accuracy := coordination.get('test_accuracy')) is not None
            else f'Si coordination class: {coordination["most_likely"]} most likely ({shares})',
        )
    lines += [f'WARNING: {warning}' for warning in [*charge.get('warnings', []), *coordination_warnings(result)]]
    return '\n'.join(lines)


def coordination_warnings(result: dict) -> list[str]:
    """The coordination classifier's out-of-domain warnings, where it answered."""
    return list(result['coordination'].get('warnings', [])) if 'coordination' in result else []


TABLE_COLUMNS = (
    'file',
    'shift_ev',
    'si_valence_e',
    'si_valence_std_e',
    'rdf_peak_r_a',
    'rdf_peak_g',
    'window_ev',
    'warnings',
    'prediction_pk',
    'coordination_most_likely',
)


def write_prediction_table(results: list[dict], output: pathlib.Path) -> None:
    """One CSV row per spectrum: its prediction with uncertainties, the shift used and any warnings."""
    import csv

    with output.open('w', newline='') as handle:
        writer = csv.writer(handle)
        writer.writerow(TABLE_COLUMNS)
        for result in results:
            charge, rdf = result['charge'], result['rdf']
            mean = rdf.get_array('mean')
            first = int(np.argmax(mean))
            writer.writerow(
                [
                    result['file'],
                    f'{result["shift_ev"]:.4f}',
                    f'{charge["mean"]:.4f}',
                    f'{charge["std"]:.4f}',
                    f'{rdf.get_array("r")[first]:.3f}',
                    f'{mean[first]:.3f}',
                    '-'.join(f'{e:g}' for e in charge['window']['range_ev']) if 'window' in charge.keys() else 'all',
                    '; '.join([*charge.get('warnings', []), *coordination_warnings(result)]),
                    charge.creator.pk,
                    result['coordination']['most_likely'] if 'coordination' in result else '',
                ]
            )


def write_prediction_plot(path: pathlib.Path, result: dict, output: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    spectrum = result['charge'].creator.inputs.spectrum
    rdf = result['rdf']
    r, mean, std = rdf.get_array('r'), rdf.get_array('mean'), rdf.get_array('std')
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    axes[0].plot(spectrum.get_x()[1], spectrum.get_y()[0][1], color='k')
    axes[0].axvspan(GRID_START_EV, GRID_END_EV, color='steelblue', alpha=0.1, label='model window')
    axes[0].set(xlabel='energy (eV)', ylabel='intensity', title=f'{path.name}: Si valence {result["charge"]["mean"]:+.2f} e')
    axes[0].legend()
    axes[1].plot(r, mean, color='darkred')
    axes[1].fill_between(r, mean - std, mean + std, color='darkred', alpha=0.25, lw=0, label='ensemble +- 1 sd')
    axes[1].set(xlabel='R (A)', ylabel='g(R)', title='predicted RDF around Si')
    axes[1].legend()
    fig.tight_layout()
    fig.savefig(output, dpi=110)
    plt.close(fig)
