"""``predict_from_spectrum``: a prediction for a user's spectrum, recorded in the graph.

spectrum (XyData) + charge model + RDF model -> charge (Dict: mean, std, members, warnings) and RDF
(ArrayData: r, mean, std), so a prediction can be traced to the exact model files (and through them
to the training job, its dataset and every structure behind it) and to the spectrum it was made from.
A measured spectrum's energy calibration is a calcfunction of its own (``shift_spectrum_energy``),
its shift given by the user (a Float) or made from a quartz reference (``reference_energy_shift``).
"""

from __future__ import annotations

import hashlib
import pathlib

import numpy as np
from aiida import orm
from aiida.engine import calcfunction

from aiida_siox.analysis.measured_spectrum import read_measured_spectrum, reference_shift
from aiida_siox.ml.prediction import predict_spectrum


def spectrum_node(path: str | pathlib.Path) -> orm.XyData:
    """The user's spectrum file, checked, as an XyData (unstored), with the file's name and SHA-256.

    What the checks changed (keV to eV, sorting) is in the attribute ``preparation_notes``.

    :raises SpectrumInputError: a one-line message naming the file and the line at fault.
    """
    path = pathlib.Path(path)
    energy, intensity, notes = read_measured_spectrum(path)
    node = orm.XyData()
    node.set_x(energy, 'energy', 'eV')
    node.set_y(intensity, 'intensity', 'arb. units')
    node.base.attributes.set('source_filename', path.name)
    node.base.attributes.set('source_sha256', hashlib.sha256(path.read_bytes()).hexdigest())
    node.base.attributes.set('preparation_notes', notes)
    return node


@calcfunction
def reference_energy_shift(reference: orm.XyData, target: orm.Float) -> orm.Float:
    """The shift (eV) that puts the main peak of a quartz reference spectrum on ``target`` (1846 eV)."""
    return orm.Float(reference_shift(reference.get_x()[1], reference.get_y()[0][1], target.value))


@calcfunction
def shift_spectrum_energy(spectrum: orm.XyData, shift: orm.Float) -> orm.XyData:
    """The spectrum with ``shift`` (eV) added to its energies: the instrument's calibration."""
    shifted = orm.XyData()
    x_name, energy, x_unit = spectrum.get_x()
    shifted.set_x(energy + shift.value, x_name, x_unit)
    y_name, intensity, y_unit = spectrum.get_y()[0]
    shifted.set_y(intensity, y_name, y_unit)
    for key in ('source_filename', 'source_sha256'):
        shifted.base.attributes.set(key, spectrum.base.attributes.get(key, None))
    shifted.base.attributes.set('energy_shift_ev', shift.value)
    return shifted


@calcfunction
def predict_from_spectrum(
    spectrum: orm.XyData,
    charge_model: orm.SinglefileData,
    rdf_model: orm.SinglefileData,
    charge_windows_model: orm.SinglefileData | None = None,
    rdf_windows_model: orm.SinglefileData | None = None,
    coordination_model: orm.SinglefileData | None = None,
) -> dict:
    """Mean Si valence and RDF, each with the ensemble's spread, for one spectrum; out-of-domain warnings in ``charge``.

    With a coordination model (and a spectrum covering its grid), also ``coordination``: P(n_O = 0..4).

    A spectrum that covers only part of the grid is answered by the best sub-window network it covers
    (given the window models): ``charge['window']`` and the RDF's ``window`` attribute say which, with its test RMSE.
    """
    energy, intensity = spectrum.get_x()[1], spectrum.get_y()[0][1]
    windows = [model.get_content(mode='rb') if model is not None else None for model in (charge_windows_model, rdf_windows_model)]
    classifier = coordination_model.get_content(mode='rb') if coordination_model is not None else None
    result = predict_spectrum(
        energy, intensity, charge_model.get_content(mode='rb'), rdf_model.get_content(mode='rb'), *windows, classifier
    )
    charge = result['charge']
    rdf = orm.ArrayData()
    rdf.set_array('r', result['r'])
    rdf.set_array('mean', result['rdf']['mean'])
    rdf.set_array('std', result['rdf']['std'])
    if 'window' in result['rdf']:
        rdf.base.attributes.set('window', result['rdf']['window'])
    values = {
        'mean': float(charge['mean'][0]),
        'std': float(charge['std'][0]),
        'members': np.asarray(charge['members'][:, 0]).tolist(),
        'warnings': [*charge['warnings'], *result['rdf']['warnings']],
    }
    if 'window' in charge:
        values['window'] = charge['window']
    outputs = {'charge': orm.Dict(values), 'rdf': rdf}
    if 'coordination' in result:
        coordination = result['coordination']
        outputs['coordination'] = orm.Dict(
            {
                'classes': coordination['classes'],
                'probabilities': coordination['probabilities'].tolist(),
                'most_likely': coordination['most_likely'],
                'test_accuracy': coordination['test_accuracy'],
                'warnings': coordination['warnings'],
            }
        )
    return outputs
