"""``TrainingCalculation``: train the charge and RDF networks on a dataset node as a tracked job.

The job carries its own entry script (``train_job.py`` + ``models.py``) and the dataset file, so
the compute node (a GPU node via SLURM ``--gres=gpu:1``, or localhost) needs only Python with
torch and numpy.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from aiida import orm
from aiida.common.datastructures import CalcInfo, CodeInfo
from aiida.engine import CalcJob

from aiida_siox.ml import models, train_job

SCRIPTS = (Path(train_job.__file__), Path(models.__file__))
DATASET_ARRAYS = ('spectra', 'energy', 'charge', 'rdf', 'r', 'n_o', 'x')


class TrainingCalculation(CalcJob):
    """Charge and RDF networks: weights, metrics, predictions and plots as outputs."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('dataset', valid_type=orm.ArrayData, help='Output of assemble_dataset.')
        spec.input('config', valid_type=orm.Dict, default=lambda: orm.Dict({}), help='Overrides of train_job.DEFAULTS.')
        spec.inputs['metadata']['options']['parser_name'].default = 'siox.training'
        spec.inputs['metadata']['options']['resources'].default = {'num_machines': 1, 'num_mpiprocs_per_machine': 1}
        spec.inputs['metadata']['options']['output_filename'].default = 'training.out'
        spec.output('charge_model', valid_type=orm.SinglefileData)
        spec.output('rdf_model', valid_type=orm.SinglefileData)
        spec.output('metrics', valid_type=orm.Dict)
        spec.output('predictions', valid_type=orm.ArrayData)
        spec.output_namespace('plots', valid_type=orm.SinglefileData, dynamic=True)
        spec.exit_code(300, 'ERROR_MISSING_OUTPUT', message='The training job did not write {filename} (see training.out).')

    def prepare_for_submission(self, folder):
        for script in SCRIPTS:
            folder.create_file_from_filelike(script.open('rb'), script.name, 'wb')
        buffer = io.BytesIO()
        np.savez(buffer, **{name: self.inputs.dataset.get_array(name) for name in DATASET_ARRAYS})
        folder.create_file_from_filelike(io.BytesIO(buffer.getvalue()), 'dataset.npz', 'wb')
        folder.create_file_from_filelike(io.StringIO(json.dumps(self.inputs.config.get_dict())), 'config.json', 'w')
        codeinfo = CodeInfo()
        codeinfo.code_uuid = self.inputs.code.uuid
        codeinfo.cmdline_params = ['train_job.py', 'dataset.npz', 'config.json']
        codeinfo.stdout_name = self.inputs.metadata.options.output_filename
        calcinfo = CalcInfo()
        calcinfo.codes_info = [codeinfo]
        calcinfo.provenance_exclude_list = ['dataset.npz']  # already in the graph as the dataset node
        calcinfo.retrieve_list = [
            codeinfo.stdout_name,
            'metrics.json',
            'charge_model.pt',
            'rdf_model.pt',
            'predictions.npz',
            'charge_parity.png',
            'rdf_examples.png',
        ]
        return calcinfo
