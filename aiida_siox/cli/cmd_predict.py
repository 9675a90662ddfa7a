"""``siox predict``: Si valence and RDF for a spectrum file, from a trained model in the graph."""

from __future__ import annotations

import pathlib

import click

from aiida_siox.cli.params import PROFILE, fail, load_node_or_fail
from aiida_siox.cli.root import siox


@siox.command('predict')
@click.argument('spectrum', type=click.Path(path_type=pathlib.Path, dir_okay=False))
@click.option('--model', 'model_id', required=True, help='Training job/workchain, dataset workchain or model file (pk or UUID).')
@click.option('--png', type=click.Path(path_type=pathlib.Path, dir_okay=False), default=None, help='Also write a plot here.')
@PROFILE
def predict_command(spectrum, model_id, png):
    """Si valence and RDF (with the ensemble's uncertainty) for a measured or computed spectrum.

    SPECTRUM is a two-column text/CSV file (energy in eV, intensity) or an XDI file; it must cover
    1830-1880 eV. The prediction is stored as a calcfunction: spectrum + models -> charge, RDF.
    """
    from aiida_siox.cli.predict import ModelNotFound, predict_file, prediction_text, write_prediction_plot
    from aiida_siox.ml.inputs import SpectrumInputError

    model = load_node_or_fail(model_id)
    try:
        result = predict_file(spectrum, model)
    except (ModelNotFound, SpectrumInputError) as exception:
        fail(str(exception))
    click.echo(prediction_text(spectrum, result))
    if png is not None:
        write_prediction_plot(spectrum, result, png)
        click.echo(f'plot written to {png}')
