"""``CoreHoleXspectraCalculation``: a site's core-hole SCF and its x, y, z xspectra.x runs as ONE job.

In one working directory, one after another:

1. pw.x: the full-core-hole SCF (all of ``PwCalculation``: same inputs, same outputs, same exit codes,
   so aiida-quantumespresso's ``PwBaseWorkChain`` handlers apply to it unchanged);
2. with ``energy_zero_code`` (a Python): ``scf_levels.py``, shipped with the job, sets xspectra's
   ``xe0`` midway between the SCF's highest occupied and first empty level, read from pw.x's XML
   (analysis/scf_levels.py says why), and records the levels in ``xe0.json``;
3. xspectra.x once per polarisation, each with its own input, output and spectrum file.

As two jobs (pw.x, then xspectra.x) a site paid the engine's per-job cost twice, plus a restart
workchain, an upload and a scheduler poll between them (quartz site: 1.3-1.5 s of 9.4 s). The job
keeps the detail of the separate runs: the SCF's own outputs, a spectrum and the parsed output of
each polarisation, the code of each step in its inputs.
"""

from __future__ import annotations

import pathlib

from aiida import orm
from aiida.common.datastructures import CodeInfo, CodeRunMode
from aiida.common.exceptions import InputValidationError
from aiida.plugins import CalculationFactory
from aiida_quantumespresso.calculations import _lowercase_dict, _uppercase_dict
from aiida_quantumespresso.utils.convert import convert_input_to_namelist_entry

from aiida_siox.analysis import scf_levels
from aiida_siox.calculations.xspectra_polarisations import (
    POLARISATIONS,
    input_filename,
    output_filename,
    spectrum_filename,
    validate_polarisations,
)

PwCalculation = CalculationFactory('quantumespresso.pw')


def _chain_validators(*validators):
    """One validator running each of ``validators`` (None skipped) in turn: the first message wins."""

    def validate(inputs, ctx):
        for validator in filter(None, validators):
            message = validator(inputs, ctx)
            if message:
                return message

    return validate


#: The step between pw.x and xspectra.x, and what it writes.
ENERGY_ZERO_SCRIPT = 'scf_levels.py'
ENERGY_ZERO_RECORD = 'xe0.json'
ENERGY_ZERO_OUTPUT = 'xe0.out'
#: The 1s core orbital of the absorber (xspectra's ``filecore``).
CORE_WAVEFUNCTION = 'core_wavefunction.dat'
XSPECTRA_NAMELISTS = ('INPUT_XSPECTRA', 'PLOT', 'PSEUDOS', 'CUT_OCC')
#: Keys the job sets itself: where the SCF is, and each run's own files.
XSPECTRA_BLOCKED = {
    'INPUT_XSPECTRA': ('outdir', 'prefix', 'x_save_file', 'xepsilon'),
    'PLOT': ('xanes_file', 'gamma_file'),
    'PSEUDOS': ('filecore',),
}


def xspectra_input(parameters: dict, polarisation: str, mesh: list[int], offset: list[float]) -> str:
    """The xspectra.x input of one polarisation run on the job's SCF (``./out/aiida.save``)."""
    namelists = {name: _lowercase_dict(values, dict_name=name) for name, values in _uppercase_dict(parameters, 'parameters').items()}
    unknown = set(namelists) - set(XSPECTRA_NAMELISTS)
    if unknown:
        raise InputValidationError(f'xspectra.parameters: unknown namelists {sorted(unknown)}')
    for name, keys in XSPECTRA_BLOCKED.items():
        given = set(keys) & set(namelists.get(name, {}))
        if given:
            raise InputValidationError(f'xspectra.parameters: the job sets {sorted(given)} of {name} itself')
    run = {name: dict(namelists.get(name, {})) for name in XSPECTRA_NAMELISTS}
    run['INPUT_XSPECTRA'].update(
        outdir=PwCalculation._OUTPUT_SUBFOLDER,
        prefix=PwCalculation._PREFIX,
        x_save_file=f'xanes_{polarisation}.sav',
        xepsilon=POLARISATIONS[polarisation],
    )
    run['PLOT'].update(xanes_file=spectrum_filename(polarisation), gamma_file='gamma.dat')
    run['PSEUDOS']['filecore'] = CORE_WAVEFUNCTION
    if any(value not in (0.0, 0.5) for value in offset):
        raise InputValidationError('xspectra.kpoints: the mesh offset must be 0 or 0.5 along each axis')
    lines = []
    for name in XSPECTRA_NAMELISTS:
        lines.append(f'&{name}')
        lines.extend(convert_input_to_namelist_entry(key, value)[:-1] for key, value in sorted(run[name].items()))
        lines.append('/')
    lines.append(' '.join(str(value) for value in [*mesh, *(int(2 * shift) for shift in offset)]))
    return '\n'.join(lines) + '\n'


def validate_energy_zero(inputs, _):
    """xe0 comes from the xspectra parameters or from the job's xe0 step, not both (the step would overwrite it)."""
    namelists = _uppercase_dict(inputs.get('xspectra', {}).get('parameters', orm.Dict()).get_dict(), 'parameters')
    namelist = _lowercase_dict(namelists.get('INPUT_XSPECTRA', {}), 'INPUT_XSPECTRA')
    if 'energy_zero_code' in inputs and 'xe0' in namelist:
        return 'xspectra.parameters sets INPUT_XSPECTRA.xe0 and energy_zero_code would set it mid-gap: give one of the two'


class CoreHoleXspectraCalculation(PwCalculation):
    """pw.x (core-hole SCF), then xe0 mid-gap, then xspectra.x for each polarisation, in one job.

    The steps run under ``set -e``: the first that fails ends the job, so the scheduler script's append
    text (the computer's, the code's, ``metadata.options.append_text``) runs only after a job whose steps
    all succeeded.
    """

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.inputs['metadata']['options']['parser_name'].default = 'siox.core_hole_xspectra'
        spec.input_namespace('xspectra', help="The xspectra.x runs on this job's SCF.")
        spec.input('xspectra.code', valid_type=orm.AbstractCode, help='xspectra.x, on the computer of `code` (pw.x).')
        spec.input(
            'xspectra.parameters',
            valid_type=orm.Dict,
            help='xspectra.x namelists (INPUT_XSPECTRA with xiabs, PLOT, PSEUDOS, CUT_OCC); the job sets the file names, '
            'xepsilon per run and, with energy_zero_code, xe0.',
        )
        spec.input('xspectra.kpoints', valid_type=orm.KpointsData, help='k-point mesh of the xspectra runs.')
        spec.input('xspectra.core_wavefunction', valid_type=orm.SinglefileData, help='1s core orbital of the absorber (filecore).')
        spec.input(
            'xspectra.polarisations',
            valid_type=orm.List,
            default=lambda: orm.List(list(POLARISATIONS)),
            validator=validate_polarisations,
            help='Polarisations to compute, in this order (x, y, z by default).',
        )
        spec.input(
            'energy_zero_code',
            valid_type=orm.AbstractCode,
            required=False,
            help='A Python (numpy) on the same computer: sets xe0 midway in the gap of the SCF before xspectra.x runs. '
            'Without it, xspectra uses the xe0 of xspectra.parameters or its own default zero.',
        )
        spec.inputs.validator = _chain_validators(spec.inputs.validator, validate_energy_zero)
        spec.output_namespace('spectra', valid_type=orm.XyData, dynamic=True, help='The spectrum of each polarisation.')
        spec.output(
            'xspectra_parameters',
            valid_type=orm.Dict,
            help="Parsed output of the first polarisation's run (energy zero, core level: the same for all runs) with every "
            "run's own under 'polarisations', and the xe0 the job set (eV) with the levels it came from.",
        )
        spec.exit_code(600, 'ERROR_ENERGY_ZERO_STEP', message='Setting xe0 from the SCF levels failed (see xe0.out): {detail}')
        spec.exit_code(601, 'ERROR_XSPECTRA_OUTPUT_MISSING', message='The xspectra.x output of polarisation {polarisation} is missing.')
        spec.exit_code(602, 'ERROR_XSPECTRA_FAILED', message='xspectra.x failed for polarisation {polarisation}: {error}.')
        spec.exit_code(
            603,
            'ERROR_XSPECTRA_OUT_OF_WALLTIME',
            message='xspectra.x stopped at its time limit (polarisation {polarisation}) before its spectrum converged.',
        )
        spec.exit_code(
            604, 'ERROR_XSPECTRA_SPECTRUM_UNREADABLE', message='The spectrum file of polarisation {polarisation} is missing or unreadable.'
        )

    def prepare_for_submission(self, folder):
        """pw.x's run as PwCalculation writes it, then the xe0 step and one xspectra.x run per polarisation."""
        calcinfo = super().prepare_for_submission(folder)
        xspectra = self.inputs.xspectra
        mesh, offset = xspectra.kpoints.get_kpoints_mesh()
        names = xspectra.polarisations.get_list()
        codes_info = list(calcinfo.codes_info)
        if 'energy_zero_code' in self.inputs:
            with pathlib.Path(scf_levels.__file__).open('rb') as script:
                folder.create_file_from_filelike(script, ENERGY_ZERO_SCRIPT, 'wb')
            step = CodeInfo()
            step.code_uuid = self.inputs.energy_zero_code.uuid
            xml = f'{self._OUTPUT_SUBFOLDER}{self._PREFIX}.save/{self._DATAFILE_XML_POST_6_2}'
            step.cmdline_params = [ENERGY_ZERO_SCRIPT, xml, ENERGY_ZERO_RECORD, *map(input_filename, names)]
            step.stdout_name = ENERGY_ZERO_OUTPUT
            step.join_files = True
            step.withmpi = False
            codes_info.append(step)
        for name in names:
            with folder.open(input_filename(name), 'w') as handle:
                handle.write(xspectra_input(xspectra.parameters.get_dict(), name, mesh, offset))
            run = CodeInfo()
            run.code_uuid = xspectra.code.uuid
            run.stdin_name, run.stdout_name = input_filename(name), output_filename(name)
            codes_info.append(run)
        calcinfo.codes_info = codes_info
        calcinfo.codes_run_mode = CodeRunMode.SERIAL
        # a failed step ends the job: no xe0 from a failed SCF, no xspectra.x on a missing save directory
        calcinfo.prepend_text = 'set -e'
        core = xspectra.core_wavefunction
        calcinfo.local_copy_list = [*calcinfo.local_copy_list, (core.uuid, core.filename, CORE_WAVEFUNCTION)]
        calcinfo.retrieve_list = [
            *calcinfo.retrieve_list,
            *map(output_filename, names),
            *map(spectrum_filename, names),
            ENERGY_ZERO_RECORD,
            ENERGY_ZERO_OUTPUT,
        ]
        return calcinfo
