"""``MeltQuenchWorkChain``: LAMMPS Tersoff melt-quench of one starting cell, resumable, validated.

aiida-lammps 1.0.2's MD workchain ignores the step count and its restart handlers are broken, so
this is a :class:`BaseRestartWorkChain` around ``lammps.raw`` running one script that we write:

- the seed is explicit in the script (velocity creation), so five seeds give five different,
  individually reproducible structures and caching can never merge them;
- the script writes ``restart.<step>`` files and runs every phase up to an absolute timestep, so a
  job killed by the scheduler's wall time (LAMMPS then ends without ``final.data``) is resumed
  from its last restart file by :meth:`handle_interrupted_run`, not from zero;
- the quenched structure is checked by :func:`validate_quenched_structure`; a cell that fails is
  an output with exit status 410 and its reasons, and downstream stages skip it.
"""

from __future__ import annotations

import pathlib

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import BaseRestartWorkChain, ProcessHandlerReport, process_handler, while_
from aiida.plugins import CalculationFactory

from aiida_siox.analysis import lammps_io
from aiida_siox.calculations.melt_quench_io import parse_melt_quench, prepare_melt_quench, prepare_melt_quench_resume
from aiida_siox.calculations.structure_validation import validate_quenched_structure
from aiida_siox.protocols.inputs import SioxProtocolMixin, mpi_options
from aiida_siox.workflows.launch import LaunchOnceRestartMixin

LammpsRawCalculation = CalculationFactory('lammps.raw')
DEFAULT_TERSOFF = pathlib.Path('/usr/share/lammps/potentials/SiO.tersoff')
#: Files the script writes that the workchain needs back; ``restart.*`` only matters for an interrupted job.
RETRIEVE = ['final.data', 'thermo.dat', 'restart.*']


def validate_parameters(value: orm.Dict, _) -> str | None:
    try:
        lammps_io.MeltQuenchParameters(**value.get_dict())
    except (TypeError, ValueError) as exception:
        return f'invalid melt-quench parameters: {exception}'
    return None


def validate_structure(value: orm.StructureData, _) -> str | None:
    symbols = set(value.get_kind_names()) if value is not None else set()
    if symbols - {'Si', 'O'}:
        return f'the melt-quench takes Si and O only, got kinds {sorted(symbols)}'
    return None


class MeltQuenchWorkChain(LaunchOnceRestartMixin, SioxProtocolMixin, BaseRestartWorkChain):
    """Heat to the melt temperature, hold, cool linearly to ~1 K, minimise the cell at 1 atm, validate."""

    _process_class = LammpsRawCalculation

    _protocol_file = 'melt_quench.yaml'

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('structure', valid_type=orm.StructureData, validator=validate_structure, help='Starting cell (Si and O only).')
        spec.input(
            'parameters',
            valid_type=orm.Dict,
            validator=validate_parameters,
            help='Schedule: seed, temperatures, step counts, restart interval (see MeltQuenchParameters).',
        )
        spec.input('potential', valid_type=orm.SinglefileData, help='Tersoff Si-O potential file (SiO.tersoff).')
        spec.input('validation', valid_type=orm.Dict, required=False, help='Bounds of the structure checks (ValidationBounds).')
        spec.expose_inputs(LammpsRawCalculation, namespace='lammps', include=('code', 'metadata'))
        spec.outline(
            cls.setup,
            cls.prepare,
            while_(cls.should_run_process)(cls.run_process, cls.inspect_process),
            cls.results,
            cls.validate,
        )
        spec.output('structure', valid_type=orm.StructureData, help='Quenched and minimised structure.')
        spec.output('thermo', valid_type=orm.ArrayData, help='T, P, density, energy and volume vs time, over all jobs.')
        spec.output('summary', valid_type=orm.Dict, help='Final density, minimum distance, LAMMPS wall time, jobs.')
        spec.output('validation', valid_type=orm.Dict, help='Density, voids, coordination classes, valid flag and reasons.')
        spec.output('coordination_histogram', valid_type=orm.SinglefileData, help='PNG of the Si coordination classes.')
        spec.exit_code(410, 'ERROR_STRUCTURE_INVALID', message='The quenched structure failed validation: {reasons}')
        spec.exit_code(420, 'ERROR_NO_FINAL_STRUCTURE', message='The last LAMMPS job left no final.data to parse.')
        spec.exit_code(
            430,
            'ERROR_NO_PROGRESS',
            message='A resumed job was interrupted again before its next restart file (step {step}): raise the wall time.',
        )

    @classmethod
    def get_builder_from_protocol(
        cls,
        code: orm.AbstractCode,
        structure: orm.StructureData | None = None,
        seed: int = 1,
        protocol: str | None = None,
        overrides: dict | None = None,
        options: dict | None = None,
        potential: orm.SinglefileData | pathlib.Path | None = None,
    ):
        """Builder for one melt-quench from a protocol (``fast``, ``moderate`` or ``paper``).

        :param seed: seed of the velocity creation; use the seed that made ``structure``.
        :param overrides: nested dict merged into the protocol, e.g. ``{'parameters': {'hold_steps': 5000}}``.
        :param options: job options (default: 2 local MPI ranks, 1 h).
        :param potential: the Tersoff file (default: Debian's lammps-data copy).
        """
        inputs = cls.get_protocol_inputs(protocol, overrides)
        builder = cls.get_builder()
        if structure is not None:
            builder.structure = structure
        builder.parameters = orm.Dict({**inputs['parameters'], 'seed': int(seed)})
        builder.validation = orm.Dict(inputs['validation'])
        builder.max_iterations = orm.Int(inputs['max_iterations'])
        builder.potential = tersoff_potential(potential)
        builder.lammps = {'code': code, 'metadata': {'options': mpi_options(options)}}
        return builder

    def prepare(self):
        files = prepare_melt_quench(self.inputs.structure, self.inputs.parameters)
        inputs = AttributeDict(self.exposed_inputs(LammpsRawCalculation, namespace='lammps'))
        inputs.script = files['script']
        inputs.files = {'structure': files['data'], 'potential': self.inputs.potential}
        inputs.filenames = {'structure': 'structure.data', 'potential': 'SiO.tersoff'}
        inputs.settings = orm.Dict({'additional_retrieve_list': RETRIEVE})
        # Our parser: aiida-lammps's crashes on a log cut mid-line, which would except the job (no restart).
        metadata = dict(inputs.get('metadata', {}))
        metadata['options'] = {**metadata.get('options', {}), 'parser_name': 'siox.lammps_raw'}
        inputs.metadata = metadata
        self.ctx.inputs = inputs

    @process_handler(priority=600)
    def handle_interrupted_run(self, node):
        """A job that ended without ``final.data`` (killed at wall time, node crash): resume it."""
        if 'retrieved' not in node.outputs or 'final.data' in node.outputs.retrieved.base.repository.list_object_names():
            return None
        if node.exit_status == LammpsRawCalculation.exit_codes.ERROR_PARSER_DETECTED_LAMMPS_RUN_ERROR.status:
            return None  # LAMMPS itself stopped with an error: not an interruption, re-running will not help
        # The job may have exited 0 (LAMMPS killed by a signal prints no ERROR line): never reuse it from the cache.
        node.base.caching.is_valid_cache = False
        restart = lammps_io.latest_restart(node.outputs.retrieved.base.repository.list_object_names())
        if restart is None:
            self.report(f'LammpsRawCalculation<{node.pk}> ended without final.data or a restart file: running it again from the start')
            self.ctx.inputs.metadata['disable_cache'] = True
            return ProcessHandlerReport(do_break=True)
        if restart[1] <= self.ctx.get('resumed_from', -1):
            self.report(f'LammpsRawCalculation<{node.pk}> made no progress past step {restart[1]}: giving up')
            return ProcessHandlerReport(do_break=True, exit_code=self.exit_codes.ERROR_NO_PROGRESS.format(step=restart[1]))
        self.ctx.resumed_from = restart[1]
        files = prepare_melt_quench_resume(node.outputs.retrieved, self.inputs.parameters, orm.Str(restart[0]))
        self.ctx.inputs.script = files['script']
        self.ctx.inputs.files = {**self.ctx.inputs.files, 'restart': files['restart']}
        self.ctx.inputs.filenames = {**self.ctx.inputs.filenames, 'restart': 'resume.restart'}
        total = lammps_io.total_steps(lammps_io.MeltQuenchParameters(**self.inputs.parameters.get_dict()))
        self.report(f'LammpsRawCalculation<{node.pk}> was interrupted: resuming from {restart[0]} (step {restart[1]} of {total})')
        return ProcessHandlerReport(do_break=True)

    def results(self):
        last = self.ctx.children[self.ctx.iteration - 1]
        if 'final.data' not in last.outputs.retrieved.base.repository.list_object_names():
            return self.exit_codes.ERROR_NO_FINAL_STRUCTURE
        retrieved = {f'job_{k:02d}': child.outputs.retrieved for k, child in enumerate(self.ctx.children) if 'retrieved' in child.outputs}
        results = {f'results_{k:02d}': child.outputs.results for k, child in enumerate(self.ctx.children) if 'results' in child.outputs}
        parsed = parse_melt_quench(initial_structure=self.inputs.structure, **retrieved, **results)
        self.out_many(parsed)
        self.report(f'quenched after {self.ctx.iteration} job(s): {parsed["summary"]["density_g_cm3"]:.3f} g/cm3')

    def validate(self):
        kwargs = {'bounds': self.inputs.validation} if 'validation' in self.inputs else {}
        checked = validate_quenched_structure(self.outputs['structure'], **kwargs)
        self.out_many(checked)
        if not checked['validation']['valid']:
            return self.exit_codes.ERROR_STRUCTURE_INVALID.format(reasons='; '.join(checked['validation']['reasons']))


def tersoff_potential(potential: orm.SinglefileData | pathlib.Path | None = None) -> orm.SinglefileData:
    """The Tersoff SiO potential as a node (default: Debian's lammps-data file)."""
    if isinstance(potential, orm.SinglefileData):
        return potential
    path = pathlib.Path(potential or DEFAULT_TERSOFF)
    if not path.exists():
        raise FileNotFoundError(f'Tersoff potential {path} not found: install the Debian package lammps-data')
    return orm.SinglefileData(path, filename='SiO.tersoff')
