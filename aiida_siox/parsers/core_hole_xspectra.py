"""Parser of :class:`~aiida_siox.calculations.core_hole_xspectra.CoreHoleXspectraCalculation`.

pw.x's part is aiida-quantumespresso's ``PwParser`` as it is (same outputs, same exit codes, so the
``PwBaseWorkChain`` handlers see a failed SCF as they see a ``PwCalculation``); the xspectra.x runs are
read only when the SCF succeeded, and each failure of theirs has its own exit code (600s).
"""

from __future__ import annotations

import functools
import json

from aiida import orm
from aiida.engine import ExitCode
from aiida_quantumespresso.parsers.pw import PwParser

from aiida_siox.calculations.core_hole_xspectra import ENERGY_ZERO_OUTPUT, ENERGY_ZERO_RECORD
from aiida_siox.parsers.xspectra_polarisations import parse_polarisation_runs, runs_summary

#: aiida-qe-xspec's failure labels -> this job's exit codes.
XSPECTRA_FAILURES = {
    'ERROR_OUTPUT_STDOUT_MISSING': 'ERROR_XSPECTRA_OUTPUT_MISSING',
    'ERROR_OUT_OF_WALLTIME': 'ERROR_XSPECTRA_OUT_OF_WALLTIME',
    'ERROR_READING_SPECTRUM_FILE': 'ERROR_XSPECTRA_SPECTRUM_UNREADABLE',
    'ERROR_READING_SPECTRUM_FILE_DATA': 'ERROR_XSPECTRA_SPECTRUM_UNREADABLE',
}


class CoreHoleXspectraParser(PwParser):
    """The SCF as ``PwParser`` parses it; then xe0's record and each polarisation's output and spectrum."""

    @functools.cached_property
    def retrieved(self) -> orm.FolderData:
        """The job's retrieved folder, looked up once per parse: aiida's property queries the node's outgoing links
        at each use, and the pw.x and xspectra parts use it eight times per job."""
        return PwParser.retrieved.fget(self)

    def parse_stdout(self, parameters, parser_options=None, parsed_xml=None, crash_file=None):
        """pw.x's stdout, with QE's ``CRASH`` file only when pw.x did not finish: every QE program of the job
        writes that one file, and one from a later xspectra.x run is not pw.x's failure."""
        stdout_name = self.node.base.attributes.get('output_filename')
        if crash_file is not None and stdout_name in self.retrieved.base.repository.list_object_names():
            if 'JOB DONE' in self.retrieved.base.repository.get_object_content(stdout_name, mode='r'):
                crash_file = None
        return super().parse_stdout(parameters, parser_options, parsed_xml, crash_file)

    def scheduler_exit_code(self) -> ExitCode | None:
        """The scheduler's exit code when it ended the job (wall time, node failure), else None.

        A step after pw.x cut off by the scheduler keeps that code, which the restart loop handles, not the
        one its cut-off output would give. The exit status is set by the scheduler's parser before this one
        runs; a node re-parsed after it finished has 0.
        """
        return ExitCode(self.node.exit_status, self.node.exit_message) if self.node.exit_status else None

    def parse(self, **kwargs) -> ExitCode:
        exit_code = super().parse(**kwargs)  # None when the SCF is fine
        if exit_code is not None and exit_code.status:
            return exit_code
        files = self.retrieved.base.repository.list_object_names()
        levels = {}
        if 'energy_zero_code' in self.node.inputs:
            if ENERGY_ZERO_RECORD not in files:
                log = self.retrieved.base.repository.get_object_content(ENERGY_ZERO_OUTPUT, mode='r') if ENERGY_ZERO_OUTPUT in files else ''
                detail = log.strip().splitlines()[-1] if log.strip() else f'no {ENERGY_ZERO_OUTPUT}'
                return self.scheduler_exit_code() or self.exit_codes.ERROR_ENERGY_ZERO_STEP.format(detail=detail)
            levels = json.loads(self.retrieved.base.repository.get_object_content(ENERGY_ZERO_RECORD, mode='r'))
        names = self.node.inputs.xspectra.polarisations.get_list()
        runs = parse_polarisation_runs(self.retrieved, names)
        if runs.parsed:
            # xe0 at the top, where the alignment reads it; the levels it came from apart from xspectra's own keys
            energy_zero = {'xe0': levels['xe0'], 'energy_zero_step': levels} if levels else {}
            self.out('xspectra_parameters', orm.Dict({**runs_summary(runs, names), **energy_zero}))
        if runs.failure is not None:
            if scheduler_exit_code := self.scheduler_exit_code():
                return scheduler_exit_code
            label, polarisation = runs.failure
            if label in XSPECTRA_FAILURES:
                return self.exit_codes[XSPECTRA_FAILURES[label]].format(polarisation=polarisation)
            error = '; '.join(runs.logs.error) or label
            return self.exit_codes.ERROR_XSPECTRA_FAILED.format(polarisation=polarisation, error=error)
        self.out('spectra', runs.spectra)
        return ExitCode(0)
