"""``XspectraPolarisationsBaseWorkChain``: the restart loop around the one-job x, y, z xspectra.x run.

It is aiida-qe-xspec's ``XspectraBaseWorkChain`` (k-points, unrecoverable failures) with our
scheduler-cancellation handler, run on :class:`XspectraPolarisationsCalculation`. Two things differ
because the job holds several xspectra.x runs:

- xspectra's own ``time_limit`` is set per run, so each run gets its share of the job's wall time;
- a job out of time runs again from scratch with twice the wall time. xspectra's restart
  (``restart_mode='restart'`` from ``xanes.sav``) continues one run, but the three runs of a job
  share that one save file, so a restart could only resume the last of them.
"""

from __future__ import annotations

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import BaseRestartWorkChain, ProcessHandlerReport, process_handler, while_

from aiida_siox.calculations.xspectra_polarisations import XspectraPolarisationsCalculation
from aiida_siox.workflows.cancelled_jobs import CancelTolerantXspectraBaseWorkChain, XspectraBaseWorkChain


class XspectraPolarisationsBaseWorkChain(CancelTolerantXspectraBaseWorkChain):
    """Run ``XspectraPolarisationsCalculation`` (x, y, z in one job) with restarts on cancellation and wall time."""

    _process_class = XspectraPolarisationsCalculation

    @classmethod
    def define(cls, spec):
        # XspectraBaseWorkChain.define exposes the one-polarisation calculation: skip it (straight to
        # BaseRestartWorkChain.define) and declare the same ports for ours
        super(XspectraBaseWorkChain, cls).define(spec)
        spec.expose_inputs(XspectraPolarisationsCalculation, namespace='xspectra', exclude=('kpoints',))
        spec.input('kpoints', valid_type=orm.KpointsData, required=False, help='An explicit k-points mesh.')
        spec.input('kpoints_distance', valid_type=orm.Float, required=False, help='Or a k-point spacing in 1/A.')
        spec.input('kpoints_force_parity', valid_type=orm.Bool, required=False, help='Even meshes from kpoints_distance.')
        spec.expose_outputs(XspectraPolarisationsCalculation)
        spec.outline(
            cls.setup,
            cls.validate_kpoints,
            while_(cls.should_run_process)(cls.prepare_process, cls.run_process, cls.inspect_process),
            cls.results,
        )
        spec.exit_code(202, 'ERROR_INVALID_INPUT_KPOINTS', message='Neither the `kpoints` nor the `kpoints_distance` input was specified.')
        spec.exit_code(300, 'ERROR_UNRECOVERABLE_FAILURE', message='The calculation failed with an unrecoverable error.')

    def setup(self):
        BaseRestartWorkChain.setup(self)
        self.ctx.restart_calc = None
        self.ctx.inputs = AttributeDict(self.exposed_inputs(XspectraPolarisationsCalculation, 'xspectra'))
        self.ctx.inputs.parameters = self.ctx.inputs.parameters.get_dict()

    def set_max_seconds(self, max_wallclock_seconds: float) -> None:
        """Each xspectra.x run stops neatly within its share of the job's wall time."""
        runs = len(self.ctx.inputs.polarisations.get_list())  # the input has a default: always there
        limit = max_wallclock_seconds * self.defaults.delta_factor_time_limit / runs
        self.ctx.inputs.parameters.setdefault('INPUT_XSPECTRA', {})['time_limit'] = limit

    def prepare_process(self):
        """Set the per-run time limit; never a restart from ``xanes.sav`` (see the module docstring)."""
        seconds = self.ctx.inputs.metadata.options.get('max_wallclock_seconds', None)
        if seconds is not None:
            self.set_max_seconds(seconds)

    def _run_again_with_more_time(self, node: orm.CalcJobNode) -> ProcessHandlerReport:
        options = self.ctx.inputs.metadata.options
        seconds = options.get('max_wallclock_seconds', None)
        if seconds is None:
            self.report_error_handled(node, 'out of time with no max_wallclock_seconds set: aborting')
            return ProcessHandlerReport(True, self.exit_codes.ERROR_UNRECOVERABLE_FAILURE)
        options['max_wallclock_seconds'] = int(2 * seconds)
        self.report_error_handled(node, f'running the three polarisations again from scratch with {2 * seconds:.0f} s')
        return ProcessHandlerReport(True)

    @process_handler(priority=610, exit_codes=XspectraPolarisationsCalculation.exit_codes.ERROR_SCHEDULER_OUT_OF_WALLTIME)
    def handle_scheduler_out_of_walltime(self, node):
        """The scheduler stopped the job at its wall time: run it again with twice the time."""
        return self._run_again_with_more_time(node)

    @process_handler(priority=580, exit_codes=XspectraPolarisationsCalculation.exit_codes.ERROR_OUT_OF_WALLTIME)
    def handle_out_of_walltime(self, node):
        """A run stopped at its share of the time limit: run the job again with twice the time."""
        return self._run_again_with_more_time(node)
