"""Parser of :class:`~aiida_siox.calculations.bader.BaderCalculation`."""

from __future__ import annotations

import json

import numpy as np
from aiida import orm
from aiida.parsers import Parser


class BaderParser(Parser):
    """Populations -> net charges (Z_valence - population), with a charge-conservation check."""

    def parse(self, **kwargs):
        try:
            result = json.loads(self.retrieved.base.repository.get_object_content('bader.json'))
        except (FileNotFoundError, OSError):
            return self.exit_codes.ERROR_NO_OUTPUT
        symbols = self.node.inputs.structure.get_ase().get_chemical_symbols()
        if result['symbols'] != symbols:
            return self.exit_codes.ERROR_ATOM_ORDER
        z_valence = self.node.inputs.z_valence.get_dict()
        zval = np.array([float(z_valence[s]) for s in symbols])
        populations = np.array(result['populations'])
        charges = orm.ArrayData()
        charges.set_array('population', populations)
        charges.set_array('charge', zval - populations)
        charges.set_array('volume', np.array(result['volumes']))
        self.out('charges', charges)
        total, expected = float(populations.sum()), float(zval.sum())
        summary = {'total_population': total, 'valence_electrons': expected, 'grid_shape': result['grid_shape']}
        if 'cubes' in result:  # SHA-256 and size of the cubes partitioned: they may not be in the repository
            summary['cubes'] = result['cubes']
        self.out('summary', orm.Dict(summary))
        if abs(total - expected) > self.node.inputs.tolerance.value:
            return self.exit_codes.ERROR_CHARGE_NOT_CONSERVED.format(total=total, expected=expected)
