"""``predict_from_spectrum``: a prediction for a user's spectrum, recorded in the graph.

spectrum (XyData) + charge model + RDF model -> charge (Dict: mean, std, members) and RDF (ArrayData:
r, mean, std), so a prediction can be traced to the exact model files (and through them to the
training job, its dataset and every structure behind it) and to the spectrum it was made from.
"""

from __future__ import annotations

import hashlib
import pathlib

import numpy as np
from aiida import orm
from aiida.engine import calcfunction

from aiida_siox.ml.prediction import predict_spectrum, read_spectrum_file


def spectrum_node(path: str | pathlib.Path) -> orm.XyData:
    """The user's spectrum file as an XyData (unstored), with the file's name and SHA-256."""
    path = pathlib.Path(path)
    energy, intensity = read_spectrum_file(path)
    node = orm.XyData()
    node.set_x(energy, 'energy', 'eV')
    node.set_y(intensity, 'intensity', 'arb. units')
    node.base.attributes.set('source_filename', path.name)
    node.base.attributes.set('source_sha256', hashlib.sha256(path.read_bytes()).hexdigest())
    return node


@calcfunction
def predict_from_spectrum(spectrum: orm.XyData, charge_model: orm.SinglefileData, rdf_model: orm.SinglefileData) -> dict:
    """Mean Si valence and RDF, each with the ensemble's spread, for one spectrum."""
    energy, intensity = spectrum.get_x()[1], spectrum.get_y()[0][1]
    result = predict_spectrum(energy, intensity, charge_model.get_content(mode='rb'), rdf_model.get_content(mode='rb'))
    charge = result['charge']
    rdf = orm.ArrayData()
    rdf.set_array('r', result['r'])
    rdf.set_array('mean', result['rdf']['mean'])
    rdf.set_array('std', result['rdf']['std'])
    return {
        'charge': orm.Dict(
            {
                'mean': float(charge['mean'][0]),
                'std': float(charge['std'][0]),
                'members': np.asarray(charge['members'][:, 0]).tolist(),
            }
        ),
        'rdf': rdf,
    }
