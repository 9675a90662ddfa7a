"""Parser of :class:`~aiida_siox.calculations.training.TrainingCalculation`."""

from __future__ import annotations

import io
import json
import pathlib

import numpy as np
from aiida import orm
from aiida.parsers import Parser

from aiida_siox.calculations.training import (
    COORDINATION_MODEL_FILES,
    ENSEMBLE_MODEL_FILES,
    METRICS_FILE,
    PAPER_MODEL_FILES,
    PREDICTIONS_FILE,
    WINDOW_MODEL_FILES,
)


class TrainingParser(Parser):
    """Models, metrics, predictions and PNG plots; the checkpoint of an interrupted study."""

    def parse(self, **kwargs):
        repository = self.retrieved.base.repository
        files = set(repository.list_object_names())
        temporary = kwargs.get('retrieved_temporary_folder')
        temporary = pathlib.Path(temporary) if temporary else None
        if METRICS_FILE not in files:
            # the script's own error first: a resumed job also has a checkpoint, the one it was given
            if 'error.txt' in files:
                return self.exit_codes.ERROR_TRAINING_SCRIPT.format(error=repository.get_object_content('error.txt').strip())
            checkpoint = temporary / 'checkpoint.pt' if temporary else None
            if checkpoint is not None and checkpoint.is_file():
                self.out('checkpoint', orm.SinglefileData(checkpoint, filename='checkpoint.pt'))
                if self.node.exit_status is not None:  # the scheduler killed it (wall time): keep its exit code
                    return None
                return self.exit_codes.ERROR_TIME_LIMIT
            if self.node.exit_status is not None:  # killed by the scheduler before its first checkpoint
                return None
        save_models = self.node.inputs.config.get('save_models', True)
        for filename in (METRICS_FILE, *(ENSEMBLE_MODEL_FILES if save_models else ())):
            if filename not in files:
                return self.exit_codes.ERROR_MISSING_OUTPUT.format(filename=filename)
        # retrieved as a temporary file (parsed here, not kept twice); a job of an older version kept it in `retrieved`
        predictions_file = temporary / PREDICTIONS_FILE if temporary else None
        if predictions_file is None or not predictions_file.is_file():
            if PREDICTIONS_FILE not in files:
                return self.exit_codes.ERROR_MISSING_OUTPUT.format(filename=PREDICTIONS_FILE)
            predictions_file = io.BytesIO(repository.get_object_content(PREDICTIONS_FILE, mode='rb'))
        self.out('metrics', orm.Dict(json.loads(repository.get_object_content(METRICS_FILE))))
        models = (*ENSEMBLE_MODEL_FILES, *PAPER_MODEL_FILES, *WINDOW_MODEL_FILES, *COORDINATION_MODEL_FILES)
        for filename in (f for f in models if f in files):
            with repository.open(filename, 'rb') as handle:
                self.out(filename.removesuffix('.pt'), orm.SinglefileData(handle, filename=filename))
        predictions = orm.ArrayData()
        with np.load(predictions_file) as arrays:
            for key in arrays.files:
                predictions.set_array(key, arrays[key])
        self.out('predictions', predictions)
        for png in sorted(f for f in files if f.endswith('.png')):
            with repository.open(png, 'rb') as handle:
                self.out(f'plots.{png[:-4]}', orm.SinglefileData(handle, filename=png))
        return None
