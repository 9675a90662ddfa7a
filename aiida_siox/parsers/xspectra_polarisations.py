"""Parser of :class:`~aiida_siox.calculations.xspectra_polarisations.XspectraPolarisationsCalculation`, and the
reading of several xspectra.x runs of one job that it shares with the site job's parser."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from aiida import orm
from aiida.engine import ExitCode
from aiida_qe_xspec.parsers.xspectra import XspectraParser
from aiida_quantumespresso.parsers import QEOutputParsingError
from aiida_quantumespresso.utils.mapping import get_logging_container

from aiida_siox.calculations.xspectra_polarisations import POLARISATIONS, output_filename, spectrum_filename


class PolarisationRuns(NamedTuple):
    """What the xspectra.x runs of one job left: parsed output and spectrum per polarisation, and the first failure."""

    parsed: dict[str, dict]
    spectra: dict[str, orm.XyData]
    #: (exit code label of ``XspectraCalculation``, polarisation) of the first run that failed, or None.
    failure: tuple[str, str] | None
    logs: object


def parse_polarisation_runs(retrieved: orm.FolderData, names: list[str]) -> PolarisationRuns:
    """Each polarisation's stdout and spectrum, read with aiida-qe-xspec's own parsing functions, in order,
    up to the first run that failed."""
    files = retrieved.base.repository.list_object_names()
    parsed, spectra = {}, {}
    logs = get_logging_container()
    for name in names:
        if output_filename(name) not in files:
            return PolarisationRuns(parsed, spectra, ('ERROR_OUTPUT_STDOUT_MISSING', name), logs)
        stdout = retrieved.base.repository.get_object_content(output_filename(name), mode='r')
        base, logs = XspectraParser._parse_stdout_base(stdout, logs)
        xspectra_data, logs = XspectraParser.parse_stdout(stdout, logs)
        parsed[name] = {**base, **xspectra_data, 'xepsilon': POLARISATIONS[name]}
        for error in [*XspectraParser.class_error_map.values(), 'ERROR_OUTPUT_STDOUT_INCOMPLETE']:
            if error in logs.error:
                return PolarisationRuns(parsed, spectra, (error, name), logs)
        if spectrum_filename(name) not in files:
            return PolarisationRuns(parsed, spectra, ('ERROR_READING_SPECTRUM_FILE', name), logs)
        lines = retrieved.base.repository.get_object_content(spectrum_filename(name), mode='r').splitlines()
        try:
            spectra[name] = spectrum_node(lines, XspectraParser.parse_raw_xspectra)
        except (ValueError, QEOutputParsingError):
            return PolarisationRuns(parsed, spectra, ('ERROR_READING_SPECTRUM_FILE_DATA', name), logs)
    return PolarisationRuns(parsed, spectra, None, logs)


def runs_summary(runs: PolarisationRuns, names: list[str]) -> dict:
    """The first polarisation's parsed output (what all runs share) with every run's own under 'polarisations'."""
    first = next((runs.parsed[name] for name in names if name in runs.parsed), {})
    return {**first, 'polarisations': runs.parsed}


class XspectraPolarisationsParser(XspectraParser):
    """Each polarisation's stdout and spectrum (graphs made before the site became one job)."""

    def parse(self, **kwargs) -> ExitCode:
        names = self.node.inputs.polarisations.get_list()
        runs = parse_polarisation_runs(self.retrieved, names)
        if runs.parsed:
            self.out('output_parameters', orm.Dict(runs_summary(runs, names)))
        if runs.failure is not None:
            return self.exit(self.exit_codes.get(runs.failure[0]), runs.logs)
        self.out('spectra', runs.spectra)
        return self.exit(logs=runs.logs)


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
