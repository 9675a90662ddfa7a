"""Parser of :class:`~aiida_siox.calculations.xspectra_polarisations.XspectraPolarisationsCalculation`."""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import ExitCode
from aiida_qe_xspec.parsers.xspectra import XspectraParser
from aiida_quantumespresso.parsers import QEOutputParsingError
from aiida_quantumespresso.utils.mapping import get_logging_container

from aiida_siox.calculations.xspectra_polarisations import POLARISATIONS, output_filename, spectrum_filename


class XspectraPolarisationsParser(XspectraParser):
    """Each polarisation's stdout and spectrum, read with aiida-qe-xspec's own parsing functions."""

    def parse(self, **kwargs) -> ExitCode:
        names = self.node.inputs.polarisations.get_list()
        files = self.retrieved.base.repository.list_object_names()
        per_polarisation, spectra = {}, {}
        logs = get_logging_container()
        for name in names:
            if output_filename(name) not in files:
                return self.exit(self.exit_codes.ERROR_OUTPUT_STDOUT_MISSING, logs)
            stdout = self.retrieved.base.repository.get_object_content(output_filename(name), mode='r')
            parsed, logs = self._parse_stdout_base(stdout, logs)
            xspectra_data, logs = self.parse_stdout(stdout, logs)
            per_polarisation[name] = {**parsed, **xspectra_data, 'xepsilon': POLARISATIONS[name]}
            for error in [*self.class_error_map.values(), 'ERROR_OUTPUT_STDOUT_INCOMPLETE']:
                if error in logs.error:
                    self.out('output_parameters', orm.Dict({**per_polarisation[name], 'polarisations': per_polarisation}))
                    return self.exit(self.exit_codes.get(error), logs)
            if spectrum_filename(name) not in files:
                return self.exit(self.exit_codes.ERROR_READING_SPECTRUM_FILE, logs)
            lines = self.retrieved.base.repository.get_object_content(spectrum_filename(name), mode='r').splitlines()
            try:
                spectra[name] = spectrum_node(lines, self.parse_raw_xspectra)
            except (ValueError, QEOutputParsingError):
                return self.exit(self.exit_codes.ERROR_READING_SPECTRUM_FILE_DATA, logs)
        self.out('output_parameters', orm.Dict({**per_polarisation[names[0]], 'polarisations': per_polarisation}))
        self.out('spectra', spectra)
        return self.exit(logs=logs)


def spectrum_node(lines: list[str], parse_raw) -> orm.XyData:
    """A spectrum file as XyData, named as aiida-qe-xspec names it (energy; sigma, or sigma_tot/up/down)."""
    if len(np.genfromtxt(lines, ndmin=2)) == 0:
        raise ValueError('empty spectrum file')
    names = [['energy', 'sigma'], ['energy', 'sigma_tot', 'sigma_up', 'sigma_down']]
    units = [['eV', 'n/a'], ['eV', 'n/a', 'n/a', 'n/a']]
    data, spin = parse_raw(lines, names, units)
    node = orm.XyData()
    node.set_x(data['energy'], 'energy', 'eV')
    y_names = names[1][1:] if spin else names[0][1:]
    node.set_y([data[name] for name in y_names], y_names, ['n/a'] * len(y_names))
    return node
