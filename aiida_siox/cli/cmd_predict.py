"""``siox predict``: Si valence and RDF for spectrum files, from a trained model in the graph."""

from __future__ import annotations

import pathlib

import click

from aiida_siox.cli.params import PROFILE, fail, load_node_or_fail
from aiida_siox.cli.root import siox


@siox.command('predict')
@click.argument('spectra', nargs=-1, required=True, type=click.Path(path_type=pathlib.Path))
@click.option(
    '--model',
    'model_id',
    default=None,
    help="Training job/workchain, dataset workchain or model file (pk or UUID); default: the reference study's model.",
)
@click.option('--shift', type=float, default=None, help='Energy calibration: add this many eV to every energy (stored).')
@click.option(
    '--reference',
    type=click.Path(path_type=pathlib.Path, dir_okay=False),
    default=None,
    help='Alpha-quartz (SiO2) spectrum measured with the same instrument: the shift that puts its main peak on 1846 eV '
    'is applied to every spectrum (stored, with the reference).',
)
@click.option('--table', type=click.Path(path_type=pathlib.Path, dir_okay=False), default=None, help='Write the predictions as CSV here.')
@click.option('--png', type=click.Path(path_type=pathlib.Path, dir_okay=False), default=None, help='Plot of the (first) prediction.')
@PROFILE
def predict_command(spectra, model_id, shift, reference, table, png):
    """Si valence and RDF (with the ensemble's uncertainty) for measured or computed spectra.

    SPECTRA are files or directories of files: two-column text/CSV (energy in eV or keV, intensity)
    or XDI (read by its Column labels). Every file is read and checked before anything is stored; a
    file at fault gets a one-line error naming the line. After the energy calibration (--shift or
    --reference) each must cover the model's window (1830-1880 eV). Each prediction is stored as a
    calcfunction (spectrum + models -> charge, RDF); a spectrum or prediction outside the model's
    training domain carries a WARNING (docs/guide.md, "Your measured spectrum").
    """
    from aiida_siox.cli.predict import ModelNotFound, predict_files, prediction_text, write_prediction_plot, write_prediction_table
    from aiida_siox.ml.inputs import SpectrumInputError

    if model_id is None:
        from aiida_siox.reference_model import ReferenceModelMissing, reference_training

        try:
            model = reference_training(echo=click.echo)
        except ReferenceModelMissing as exception:
            fail(str(exception))
        click.echo(f"model: the reference study's, {model.process_label}<{model.pk}> (reference_study/results.md)")
    else:
        model = load_node_or_fail(model_id)
    try:
        results = predict_files(list(spectra), model, shift=shift, reference=reference)
    except (ModelNotFound, SpectrumInputError) as exception:
        fail(str(exception).replace('\n', '\nError: '))
    for result in results:
        click.echo(prediction_text(result['file'], result))
    if table is not None:
        write_prediction_table(results, table)
        click.echo(f'{len(results)} prediction(s) written to {table}')
    if png is not None:
        write_prediction_plot(pathlib.Path(results[0]['file']), results[0], png)
        click.echo(f'plot written to {png}')
