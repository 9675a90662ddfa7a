"""``XspectraPolarisationsCalculation``: xspectra.x for the x, y and z polarisations of a site in ONE job.

xspectra.x computes one polarisation per run. As three jobs, a site pays the engine's fixed cost
per job three times (upload, submission, polling, retrieval, parsing: about 3.5 s each on a laptop,
plus the idle gap between jobs). Here the three runs follow one another in one working directory:
each reads the same core-hole SCF and has its own input, output and spectrum file (xspectra's
``xanes_file``), so the job keeps the detail of three: a spectrum and the parsed output of each
polarisation, and the one code that made them.
"""

from __future__ import annotations

import copy

from aiida import orm
from aiida.common.datastructures import CalcInfo, CodeRunMode
from aiida.plugins import CalculationFactory
from aiida_quantumespresso.calculations import _lowercase_dict, _uppercase_dict

XspectraCalculation = CalculationFactory('xspec.xspectra')

#: Polarisation vectors (xepsilon) by name.
POLARISATIONS = {'x': [1.0, 0.0, 0.0], 'y': [0.0, 1.0, 0.0], 'z': [0.0, 0.0, 1.0]}


def input_filename(polarisation: str) -> str:
    return f'aiida_{polarisation}.in'


def output_filename(polarisation: str) -> str:
    return f'aiida_{polarisation}.out'


def spectrum_filename(polarisation: str) -> str:
    return f'xanes_{polarisation}.dat'


def validate_polarisations(value: orm.List, _) -> str | None:
    names = value.get_list()
    if not names or len(set(names)) != len(names) or not set(names) <= set(POLARISATIONS):
        return f'polarisations must be distinct names among {list(POLARISATIONS)}, got {names}'
    return None


class XspectraPolarisationsCalculation(XspectraCalculation):
    """xspectra.x once per polarisation, one after another in one job (same inputs as ``xspec.xspectra``)."""

    _default_parser = 'siox.xspectra_polarisations'

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input(
            'polarisations',
            valid_type=orm.List,
            default=lambda: orm.List(list(POLARISATIONS)),
            validator=validate_polarisations,
            help='Polarisations to compute, in this order (x, y, z by default); xepsilon of the parameters is set per run.',
        )
        del spec.outputs['spectra']
        spec.output_namespace('spectra', valid_type=orm.XyData, dynamic=True, help='The spectrum of each polarisation.')
        spec.output(
            'output_parameters',
            valid_type=orm.Dict,
            help="Parsed output of the first polarisation's run (energy zero, core level: the same for all runs, which "
            "share one SCF), with every run's own under 'polarisations'.",
        )
        spec.default_output_node = 'output_parameters'

    def prepare_for_submission(self, folder) -> CalcInfo:
        """One input file and one ``codes_info`` entry per polarisation, run in sequence."""
        calcinfo = super().prepare_for_submission(folder)
        # the parent's single run (aiida.in -> aiida.out, xanes.dat) is replaced by one run per polarisation
        folder.remove_path(self.inputs.metadata.options.input_filename)
        single_run_files = {self.inputs.metadata.options.output_filename, self._Spectrum_FILENAME}
        calcinfo.retrieve_list = [name for name in calcinfo.retrieve_list if name not in single_run_files]
        parameters = _uppercase_dict(self.inputs.parameters.get_dict(), dict_name='parameters')
        parameters = {name: _lowercase_dict(values, dict_name=name) for name, values in parameters.items()}
        template, codes_info = calcinfo.codes_info[0], []
        for polarisation in self.inputs.polarisations.get_list():
            run = copy.deepcopy(parameters)
            run.setdefault('INPUT_XSPECTRA', {})['xepsilon'] = POLARISATIONS[polarisation]
            run.setdefault('PLOT', {})['xanes_file'] = spectrum_filename(polarisation)
            run = self.filter_namelists(self.set_blocked_keywords(run), self._default_namelists)
            with folder.open(input_filename(polarisation), 'w') as handle:
                handle.write(self.generate_input_file(run))
            info = copy.deepcopy(template)
            info.stdin_name, info.stdout_name = input_filename(polarisation), output_filename(polarisation)
            codes_info.append(info)
        calcinfo.codes_info = codes_info
        calcinfo.codes_run_mode = CodeRunMode.SERIAL
        names = self.inputs.polarisations.get_list()
        calcinfo.retrieve_list = [*calcinfo.retrieve_list, *map(output_filename, names), *map(spectrum_filename, names)]
        return calcinfo
