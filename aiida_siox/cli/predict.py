"""``siox predict``: a user's spectrum -> Si valence and RDF with uncertainty, recorded in the graph."""

from __future__ import annotations

import pathlib

import numpy as np
from aiida import orm

from aiida_siox.calculations.prediction import predict_from_spectrum, spectrum_node
from aiida_siox.ml.grid import GRID_END_EV, GRID_START_EV


class ModelNotFound(ValueError):
    """The node given as --model holds no pair of trained models."""


def find_models(node: orm.Node) -> tuple[orm.SinglefileData, orm.SinglefileData]:
    """(charge model, RDF model) from a training job or workchain, a dataset workchain, or one model file."""
    if isinstance(node, orm.SinglefileData):
        creator = node.creator
        if creator is None or 'charge_model' not in creator.outputs:
            raise ModelNotFound(f'SinglefileData<{node.pk}> was not written by a training job')
        node = creator
    if isinstance(node, orm.ProcessNode):
        outputs = node.outputs
        if 'training' in outputs and 'charge_model' in outputs.training:
            return outputs.training.charge_model, outputs.training.rdf_model
        if 'charge_model' in outputs and 'rdf_model' in outputs:
            return outputs.charge_model, outputs.rdf_model
        raise ModelNotFound(f'{node.process_label}<{node.pk}> has no trained models among its outputs (did it finish?)')
    raise ModelNotFound(f'{type(node).__name__}<{node.pk}> is not a training job, a dataset workchain or a model file')


def predict_file(path: pathlib.Path, model: orm.Node) -> dict:
    """Run (and store) the prediction for the spectrum in ``path``; the calcfunction's outputs."""
    charge_model, rdf_model = find_models(model)
    spectrum = spectrum_node(path)
    return predict_from_spectrum(spectrum, charge_model, rdf_model)


def prediction_text(path: pathlib.Path, result: dict) -> str:
    charge, rdf = result['charge'], result['rdf']
    r, mean = rdf.get_array('r'), rdf.get_array('mean')
    first = int(np.argmax(mean))
    calc = charge.creator
    return '\n'.join(
        [
            f'spectrum {path.name}: XyData<{calc.inputs.spectrum.pk}>',
            f'Si valence (Bader): {charge["mean"]:+.3f} +- {charge["std"]:.3f} e  ({len(charge["members"])} ensemble members)',
            f'RDF: highest peak at {r[first]:.2f} A (g = {mean[first]:.2f} +- {rdf.get_array("std")[first]:.2f})',
            f'recorded as {calc.process_label}<{calc.pk}>: charge Dict<{charge.pk}>, RDF ArrayData<{rdf.pk}>',
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
