"""``TrainingCalculation``: the learning study of a dataset node as a tracked job.

The job carries its own code (the ``aiida_siox.ml`` package, copied as ``siox_ml/``) and the
dataset file, so the compute node (a GPU node via SLURM ``--gres=gpu:1``, or localhost) needs only
Python with torch and numpy. With a wall time set, the study stops itself shortly before it and
leaves a checkpoint; :class:`~aiida_siox.workflows.training.TrainingWorkChain` resubmits with it.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from aiida import orm
from aiida.common.datastructures import CalcInfo, CodeInfo
from aiida.engine import CalcJob

import aiida_siox.ml
from aiida_siox.ml import study_config

ML_PACKAGE = Path(aiida_siox.ml.__file__).parent
#: The dataset arrays a training job copies into its input file (a subset of what assemble_dataset writes).
TRAINING_ARRAYS = ('spectra', 'energy', 'charge', 'rdf', 'r', 'n_o', 'x', 'seed')
METRICS_FILE, PREDICTIONS_FILE = 'metrics.json', 'predictions.npz'
#: The ensembles' files: written unless the setting ``save_models`` is false (a study run for its numbers alone).
ENSEMBLE_MODEL_FILES = ('charge_model.pt', 'rdf_model.pt')
#: Written only in paper mode (config ``paper_mode``): the single networks of the paper's protocol.
PAPER_MODEL_FILES = ('paper_charge_model.pt', 'paper_rdf_model.pt')
#: Written when the sub-window study runs (config ``windows``): one network per window, for partial spectra.
WINDOW_MODEL_FILES = ('windows_charge_model.pt', 'windows_rdf_model.pt')
#: Written when the coordination classifier runs (config ``coordination``): P(n_O = 0..4) from a spectrum.
COORDINATION_MODEL_FILES = ('coordination_model.pt',)
PLOTS = ('charge_parity.png', 'rdf_examples.png', 'windows.png', 'averaged.png')
#: Fraction of the wall time the study may use before it checkpoints (the rest: saving, retrieval).
TIME_LIMIT_FRACTION = 0.9


class TrainingCalculation(CalcJob):
    """Charge and RDF ensembles, cross-validation, baseline and analyses: models, metrics, predictions, plots."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input(
            'dataset', valid_type=orm.ArrayData, validator=_validate_dataset, help='Output of assemble_dataset (or an imported table).'
        )
        spec.input(
            'config',
            valid_type=orm.Dict,
            default=lambda: orm.Dict({}),
            validator=_validate_config,
            help='Overrides of aiida_siox.ml.study_config.DEFAULTS.',
        )
        spec.input('checkpoint', valid_type=orm.SinglefileData, required=False, help='Continue an interrupted study.')
        spec.inputs['metadata']['options']['parser_name'].default = 'siox.training'
        spec.inputs['metadata']['options']['resources'].default = {'num_machines': 1, 'num_mpiprocs_per_machine': 1}
        spec.inputs['metadata']['options']['output_filename'].default = 'training.out'
        spec.output('charge_model', valid_type=orm.SinglefileData, required=False)
        spec.output('rdf_model', valid_type=orm.SinglefileData, required=False)
        spec.output('paper_charge_model', valid_type=orm.SinglefileData, required=False, help='Paper mode: the one charge network.')
        spec.output('paper_rdf_model', valid_type=orm.SinglefileData, required=False, help='Paper mode: the one RDF network.')
        spec.output('windows_charge_model', valid_type=orm.SinglefileData, required=False, help='One charge network per sub-window.')
        spec.output('windows_rdf_model', valid_type=orm.SinglefileData, required=False, help='One RDF network per sub-window.')
        spec.output(
            'coordination_model',
            valid_type=orm.SinglefileData,
            required=False,
            help='Classifier of the Si coordination class: P(n_O = 0..4) from a spectrum.',
        )
        spec.output('metrics', valid_type=orm.Dict, required=False)
        spec.output('predictions', valid_type=orm.ArrayData, required=False)
        spec.output('checkpoint', valid_type=orm.SinglefileData, required=False, help='Where an interrupted study stopped.')
        spec.output_namespace('plots', valid_type=orm.SinglefileData, dynamic=True)
        spec.exit_code(300, 'ERROR_MISSING_OUTPUT', message='The training job did not write {filename} (see training.out).')
        spec.exit_code(310, 'ERROR_TRAINING_SCRIPT', message='The training script failed: {error}')
        spec.exit_code(
            400,
            'ERROR_TIME_LIMIT',
            message="The job's limit (max_seconds or epochs_per_job) came first; the study is saved in the checkpoint output.",
        )

    def prepare_for_submission(self, folder):
        folder.get_subfolder('siox_ml', create=True)
        for script in sorted(ML_PACKAGE.glob('*.py')):
            folder.create_file_from_filelike(script.open('rb'), f'siox_ml/{script.name}', 'wb')
        buffer = io.BytesIO()
        np.savez(buffer, **{name: self.inputs.dataset.get_array(name) for name in TRAINING_ARRAYS})
        folder.create_file_from_filelike(io.BytesIO(buffer.getvalue()), 'dataset.npz', 'wb')
        config = self.inputs.config.get_dict()
        walltime = self.inputs.metadata.options.get('max_wallclock_seconds')
        if walltime and 'max_seconds' not in config:
            config['max_seconds'] = TIME_LIMIT_FRACTION * walltime
        folder.create_file_from_filelike(io.StringIO(json.dumps(config)), 'config.json', 'w')
        if 'checkpoint' in self.inputs:
            with self.inputs.checkpoint.open(mode='rb') as handle:
                folder.create_file_from_filelike(handle, 'checkpoint.pt', 'wb')
        codeinfo = CodeInfo()
        codeinfo.code_uuid = self.inputs.code.uuid
        codeinfo.cmdline_params = ['-m', 'siox_ml.train_job', 'dataset.npz', 'config.json']
        codeinfo.stdout_name = self.inputs.metadata.options.output_filename
        codeinfo.join_files = True  # tracebacks land in training.out
        calcinfo = CalcInfo()
        calcinfo.codes_info = [codeinfo]
        calcinfo.provenance_exclude_list = ['dataset.npz', 'checkpoint.pt']  # already nodes in the graph
        model_files = (*ENSEMBLE_MODEL_FILES, *PAPER_MODEL_FILES, *WINDOW_MODEL_FILES, *COORDINATION_MODEL_FILES)
        calcinfo.retrieve_list = [codeinfo.stdout_name, METRICS_FILE, *model_files, *PLOTS, 'error.txt']
        # the parser makes these nodes (the predictions' arrays; the checkpoint of an interrupted study): not kept a
        # second time in `retrieved` (the predictions of a 360-row study are ~1 MB per training in an archive)
        calcinfo.retrieve_temporary_list = [PREDICTIONS_FILE, 'checkpoint.pt']
        return calcinfo


def _validate_dataset(value, _):
    """Every array the study reads, named when absent (x and seed make the cells of a split by cell)."""
    if value is None:
        return None
    missing = [name for name in TRAINING_ARRAYS if name not in value.get_arraynames()]
    if missing:
        return f'the dataset lacks the arrays {", ".join(missing)} (expected those of assemble_dataset)'
    return None


def _validate_config(value, _):
    """Refuse unknown keys and impossible values at submission, not on the compute node."""
    if value is None:
        return None
    try:
        study_config.check_config(value.get_dict())
    except ValueError as exception:
        return f'training config: {exception}'
    return None
