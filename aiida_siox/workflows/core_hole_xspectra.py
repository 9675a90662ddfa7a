"""``CoreHoleXspectraBaseWorkChain``: the restart loop around a site's one job (core-hole SCF + xspectra x, y, z).

It is our ``CancelTolerantPwBaseWorkChain`` (aiida-quantumespresso's ``PwBaseWorkChain`` handlers:
non-converged SCF, diagonalisation, pw.x out of time; plus the scheduler cancellation) run on
:class:`~aiida_siox.calculations.core_hole_xspectra.CoreHoleXspectraCalculation`, whose pw.x part has
``PwCalculation``'s exit codes. What differs because the job holds xspectra.x runs too:

- the job's wall time is shared: pw.x stops neatly (``max_seconds``) within :data:`SCF_TIME_SHARE` of
  it, and each xspectra.x run (``time_limit``) within its share of the rest;
- a job stopped by the scheduler at its wall time, or an xspectra.x run out of time, runs again from
  scratch with twice the wall time (xspectra's own restart from its save file continues one run only).
"""

from __future__ import annotations

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import ProcessHandlerReport, process_handler
from aiida_quantumespresso.common.types import RestartType

from aiida_siox.calculations.core_hole_xspectra import CoreHoleXspectraCalculation
from aiida_siox.workflows.cancelled_jobs import CancelTolerantPwBaseWorkChain

#: Fraction of the job's wall time given to pw.x; the xspectra.x runs share the rest.
SCF_TIME_SHARE = 0.5


class CoreHoleXspectraBaseWorkChain(CancelTolerantPwBaseWorkChain):
    """Run ``CoreHoleXspectraCalculation`` with pw.x's restart handlers, and more wall time when it ran out."""

    _process_class = CoreHoleXspectraCalculation

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.expose_inputs(CoreHoleXspectraCalculation, namespace='pw', include=('xspectra', 'energy_zero_code'))
        spec.expose_outputs(CoreHoleXspectraCalculation)

    def setup(self):
        super().setup()
        self.ctx.inputs.update(self.exposed_inputs(CoreHoleXspectraCalculation, 'pw'))
        self.ctx.inputs.xspectra = AttributeDict(self.ctx.inputs.xspectra)
        # The exposed ``pw`` namespace fills in PwCalculation's defaults; two must not reach this job:
        # - withmpi (True): the job also runs the serial xe0 step, so each step's code says whether it uses MPI;
        # - parser_name (quantumespresso.pw): the job's own parser reads the xspectra runs too.
        for option in ('withmpi', 'parser_name'):
            self.ctx.inputs.metadata.options.pop(option, None)
        # time limits the user set stay as set; the others follow the wall time, also when a restart doubles it
        self.ctx.user_max_seconds = 'max_seconds' in self.ctx.inputs.parameters.get('CONTROL', {})
        namelist = self.ctx.inputs.xspectra.parameters.get_dict().get('INPUT_XSPECTRA', {})
        self.ctx.user_time_limit = 'time_limit' in namelist

    def prepare_process(self):
        """Share the job's wall time: pw.x's ``max_seconds``, then each xspectra.x run's ``time_limit``
        (either left alone where the user set it)."""
        seconds = self.ctx.inputs.metadata.options.get('max_wallclock_seconds', None)
        if seconds is None:
            return
        usable = seconds * self.defaults.delta_factor_max_seconds
        if not self.ctx.user_max_seconds:
            self.ctx.inputs.parameters.setdefault('CONTROL', {})['max_seconds'] = usable * SCF_TIME_SHARE
        if self.ctx.user_time_limit:
            return
        runs = len(self.ctx.inputs.xspectra.polarisations.get_list())  # the port has a default: always there
        parameters = self.ctx.inputs.xspectra.parameters.get_dict()
        parameters.setdefault('INPUT_XSPECTRA', {})['time_limit'] = usable * (1 - SCF_TIME_SHARE) / runs
        self.ctx.inputs.xspectra.parameters = orm.Dict(parameters)

    def _run_again_with_more_time(self, calculation: orm.CalcJobNode) -> ProcessHandlerReport:
        options = self.ctx.inputs.metadata.options
        seconds = options.get('max_wallclock_seconds', None)
        if seconds is None:
            self.report_error_handled(calculation, 'out of time with no max_wallclock_seconds set: aborting')
            return ProcessHandlerReport(True, self.exit_codes.ERROR_UNRECOVERABLE_FAILURE)
        options['max_wallclock_seconds'] = int(2 * seconds)
        self.set_restart_type(RestartType.FROM_SCRATCH)
        self.report_error_handled(calculation, f'running the SCF and the xspectra runs again from scratch with {2 * seconds:.0f} s')
        return ProcessHandlerReport(True)

    @process_handler(priority=610, exit_codes=CoreHoleXspectraCalculation.exit_codes.ERROR_SCHEDULER_OUT_OF_WALLTIME)
    def handle_scheduler_out_of_walltime(self, calculation):
        """The scheduler stopped the job at its wall time: run it again with twice the time."""
        return self._run_again_with_more_time(calculation)

    @process_handler(priority=590, exit_codes=CoreHoleXspectraCalculation.exit_codes.ERROR_XSPECTRA_OUT_OF_WALLTIME)
    def handle_xspectra_out_of_walltime(self, calculation):
        """An xspectra.x run stopped at its share of the time limit: run the job again with twice the time."""
        return self._run_again_with_more_time(calculation)

    @process_handler(
        priority=585,
        exit_codes=[
            CoreHoleXspectraCalculation.exit_codes.ERROR_ENERGY_ZERO_STEP,
            CoreHoleXspectraCalculation.exit_codes.ERROR_XSPECTRA_OUTPUT_MISSING,
            CoreHoleXspectraCalculation.exit_codes.ERROR_XSPECTRA_FAILED,
            CoreHoleXspectraCalculation.exit_codes.ERROR_XSPECTRA_SPECTRUM_UNREADABLE,
        ],
    )
    def handle_xspectra_failure(self, calculation):
        """xe0 or an xspectra.x run failed on a converged SCF: the same inputs would fail again, so stop."""
        self.report_error_handled(calculation, 'the xspectra part failed on a converged SCF: not run again')
        return ProcessHandlerReport(True, self.exit_codes.ERROR_UNRECOVERABLE_FAILURE)
