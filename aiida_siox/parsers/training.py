"""Parser of :class:`~aiida_siox.calculations.training.TrainingCalculation`."""

from __future__ import annotations

import io
import json

import numpy as np
from aiida import orm
from aiida.parsers import Parser


class TrainingParser(Parser):
    """Models, metrics, predictions and PNG plots from the retrieved training folder."""

    def parse(self, **kwargs):
        files = set(self.retrieved.base.repository.list_object_names())
        for filename in ('metrics.json', 'charge_model.pt', 'rdf_model.pt', 'predictions.npz'):
            if filename not in files:
                return self.exit_codes.ERROR_MISSING_OUTPUT.format(filename=filename)
        self.out('metrics', orm.Dict(json.loads(self.retrieved.base.repository.get_object_content('metrics.json'))))
        for name in ('charge_model', 'rdf_model'):
            with self.retrieved.base.repository.open(f'{name}.pt', 'rb') as handle:
                self.out(name, orm.SinglefileData(handle, filename=f'{name}.pt'))
        with self.retrieved.base.repository.open('predictions.npz', 'rb') as handle:
            arrays = np.load(io.BytesIO(handle.read()))
            predictions = orm.ArrayData()
            for key in arrays.files:
                predictions.set_array(key, arrays[key])
        self.out('predictions', predictions)
        for png in sorted(f for f in files if f.endswith('.png')):
            with self.retrieved.base.repository.open(png, 'rb') as handle:
                self.out(f'plots.{png[:-4]}', orm.SinglefileData(handle, filename=png))
