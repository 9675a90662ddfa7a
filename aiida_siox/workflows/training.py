"""``TrainingWorkChain``: the training job with restarts from its checkpoint when time runs out.

A GPU partition usually has short wall-time limits. The study checkpoints itself at 90 % of the
limit and this workchain resubmits with that checkpoint until the study is done, so no finished
epoch is trained twice. The study writes no periodic checkpoints: a job the scheduler kills first
(exit 120) hands on the checkpoint it started from, if any, and its own progress is lost.
"""

from __future__ import annotations

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import BaseRestartWorkChain, ProcessHandlerReport, process_handler, while_

from aiida_siox.calculations.training import TrainingCalculation
from aiida_siox.protocols.inputs import SioxProtocolMixin, serial_options
from aiida_siox.workflows.launch import LaunchOnceRestartMixin


class TrainingWorkChain(LaunchOnceRestartMixin, SioxProtocolMixin, BaseRestartWorkChain):
    """Run :class:`TrainingCalculation`; on a time limit, continue from its checkpoint."""

    _process_class = TrainingCalculation

    _protocol_file = 'training.yaml'

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.expose_inputs(TrainingCalculation, namespace='job', exclude=('checkpoint',))
        spec.expose_outputs(TrainingCalculation, exclude=('checkpoint',))
        spec.outline(
            cls.setup,
            while_(cls.should_run_process)(cls.run_process, cls.inspect_process),
            cls.results,
        )
        spec.exit_code(410, 'ERROR_TRAINING_SCRIPT', message='The training script failed: {message}')

    @classmethod
    def get_builder_from_protocol(
        cls,
        code: orm.AbstractCode,
        dataset: orm.ArrayData | None = None,
        protocol: str | None = None,
        overrides: dict | None = None,
        options: dict | None = None,
    ):
        """Builder for the training job from a protocol (the study's configuration).

        :param code: the Python code that runs the study.
        :param dataset: the dataset (leave out when a parent workchain supplies it).
        :param options: job options (default: 1 local process, 1 h); on a cluster the GPU partition.
        """
        config = cls.get_protocol_inputs(protocol, overrides)
        builder = cls.get_builder()
        # Port by port: the job namespace as a whole would be validated without its dataset.
        builder.job.code = code
        builder.job.config = orm.Dict(config)
        builder.job.metadata.options = serial_options(options)
        if dataset is not None:
            builder.job.dataset = dataset
        return builder

    def setup(self):
        super().setup()
        self.ctx.inputs = AttributeDict(self.exposed_inputs(TrainingCalculation, 'job'))

    @process_handler(
        priority=500,
        exit_codes=[
            TrainingCalculation.exit_codes.ERROR_TIME_LIMIT,
            TrainingCalculation.exit_codes.ERROR_SCHEDULER_OUT_OF_WALLTIME,
        ],
    )
    def handle_time_limit(self, node: orm.CalcJobNode) -> ProcessHandlerReport:
        """Continue from the checkpoint the interrupted job left (from scratch if it left none)."""
        if 'checkpoint' in node.outputs:
            self.ctx.inputs.checkpoint = node.outputs.checkpoint
            self.report(f'{node.process_label}<{node.pk}> ran out of time: continuing from its checkpoint')
        else:
            self.report(f'{node.process_label}<{node.pk}> ran out of time before its first checkpoint: starting again')
        return ProcessHandlerReport(do_break=True)

    @process_handler(priority=400, exit_codes=[TrainingCalculation.exit_codes.ERROR_TRAINING_SCRIPT])
    def handle_script_error(self, node: orm.CalcJobNode) -> ProcessHandlerReport:
        """A bug or a bad input in the script is not fixed by trying again: stop with its message."""
        return ProcessHandlerReport(do_break=True, exit_code=self.exit_codes.ERROR_TRAINING_SCRIPT.format(message=node.exit_message))
