"""``SiOxDatasetWorkChain``: the whole pipeline, compositions x seeds -> dataset -> trained models.

calibrate on alpha-quartz (unless a calibration is given) -> per (x, seed) a
:class:`SiOxStructureWorkChain`, at most ``max_concurrent_structures`` at once -> ``assemble_dataset``
-> (optionally) :class:`TrainingWorkChain`. Build it with :meth:`get_builder_from_protocol`.
"""

from __future__ import annotations

import pathlib

from aiida import orm
from aiida.common import AttributeDict
from aiida.common.links import LinkType
from aiida.engine import ToContext, WorkChain, if_, while_

from aiida_siox.calculations.dataset import assemble_dataset, structure_averages
from aiida_siox.protocols import concurrency
from aiida_siox.protocols.inputs import SioxProtocolMixin, mpi_options, require_codes
from aiida_siox.protocols.inputs import serial_options as serial_options_for
from aiida_siox.structures.builder import LATTICE_CONSTANT
from aiida_siox.workflows.assembly import assembly_inputs
from aiida_siox.workflows.launch import submit_once
from aiida_siox.workflows.partial_success import PARTIAL_SUCCESS
from aiida_siox.workflows.quartz_calibration import QuartzCalibrationWorkChain, calibration_supercell
from aiida_siox.workflows.site_xanes import SiteXanesWorkChain
from aiida_siox.workflows.sliding_window import ended_children, fill_window, has_work_left, wait_for_oldest
from aiida_siox.workflows.structure_pipeline import SiOxStructureWorkChain
from aiida_siox.workflows.training import TrainingWorkChain


def structure_label(x: float, seed: int) -> str:
    """Link label of one structure, e.g. ``x1p25_seed3``."""
    return f'x{x:.2f}'.replace('.', 'p') + f'_seed{seed}'


def work_label(x_or_label: float | str, seed: int) -> str:
    """Link label of one structure: ``x1p25_seed3`` for a composition, ``cell_<label>`` for a user's cell."""
    return f'cell_{x_or_label}' if isinstance(x_or_label, str) else structure_label(x_or_label, seed)


def validate_compositions(value, _):
    if value is not None and (not value.get_list() or any(not 0 <= float(x) <= 2 for x in value.get_list())):
        return f'compositions must be a non-empty list of x values in [0, 2], got {value.get_list()}'


def validate_seeds(value, _):
    seeds = value.get_list() if value is not None else []
    if value is not None and (not seeds or any(not isinstance(s, int) or s <= 0 for s in seeds) or len(set(seeds)) != len(seeds)):
        return f'seeds must be distinct positive integers, got {seeds}'


def validate_dataset_inputs(inputs, port):
    """Compositions with seeds, or cells, or both; and a calibration of the sites' alignment form."""
    if ('compositions' in inputs) != ('seeds' in inputs):
        return 'give `compositions` and `seeds` together'
    if 'compositions' not in inputs and not inputs.get('cells'):
        return 'nothing to compute: give `compositions` and `seeds`, or `cells`'
    return validate_calibration_form(inputs, port)


def validate_calibration_form(inputs, _):
    """A given calibration must have been made with the alignment form the sites will use."""
    calibration = inputs.get('calibration')
    form = inputs.get('structure', {}).get('xanes', {}).get('alignment')
    if calibration is not None and form is not None and calibration.get('alignment') != form.value:
        return (
            f'calibration <{calibration.pk}> was made for the {calibration.get("alignment", "none")} alignment form, '
            f'the sites use {form.value}: compute a new one (leave `calibration` out) or run `siox realign` on its graph'
        )


class SiOxDatasetWorkChain(SioxProtocolMixin, WorkChain):
    """Compositions x seeds -> melt-quench -> XANES, Bader, RDFs -> dataset -> training."""

    _protocol_file = 'dataset.yaml'

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('compositions', valid_type=orm.List, required=False, validator=validate_compositions, help='x values of SiOx.')
        spec.input('seeds', valid_type=orm.List, required=False, validator=validate_seeds, help='Seeds; each composition runs every seed.')
        spec.input_namespace(
            'cells',
            valid_type=orm.StructureData,
            dynamic=True,
            required=False,
            help="Users' own Si-O cells by label, instead of or besides compositions x seeds (`structure.relax`: melt-quench first).",
        )
        spec.input('max_concurrent_structures', valid_type=orm.Int, default=lambda: orm.Int(1))
        spec.input('calibration', valid_type=orm.Dict, required=False, help='Existing alpha-quartz calibration (else computed).')
        # The quartz cell and target of the calibration; its XANES inputs are the sites' own (run_calibration).
        spec.expose_inputs(QuartzCalibrationWorkChain, namespace='quartz', exclude=('xanes',))
        spec.expose_inputs(SiOxStructureWorkChain, namespace='structure', exclude=('x', 'seed', 'structure', 'xanes.calibration'))
        spec.expose_inputs(
            TrainingWorkChain,
            namespace='training',
            exclude=('job.dataset',),
            namespace_options={'required': False, 'populate_defaults': False, 'help': 'Leave out to skip training.'},
        )
        spec.inputs.validator = validate_dataset_inputs
        spec.outline(
            cls.setup,
            if_(cls.needs_calibration)(cls.run_calibration, cls.inspect_calibration),
            while_(cls.has_structures_left)(cls.submit_structures, cls.inspect_structures),
            cls.assemble,
            if_(cls.should_train)(cls.run_training, cls.inspect_training),
            cls.finalise,
        )
        spec.output('calibration', valid_type=orm.Dict)
        spec.output_namespace('structures', valid_type=orm.StructureData, dynamic=True, help='Quenched structures by label.')
        spec.output('dataset', valid_type=orm.ArrayData)
        spec.output('manifest', valid_type=orm.Dict)
        spec.output('averages', valid_type=orm.ArrayData, required=False, help='Per structure: mean spectrum, charge and RDF.')
        spec.expose_outputs(TrainingWorkChain, namespace='training', namespace_options={'required': False})
        spec.exit_code(400, 'ERROR_CALIBRATION_FAILED', message='The alpha-quartz calibration failed with exit status {status}.')
        spec.exit_code(
            PARTIAL_SUCCESS, 'WARNING_SOME_STRUCTURES_FAILED', message='Structures {labels} failed; the dataset holds the others.'
        )
        spec.exit_code(402, 'ERROR_ALL_STRUCTURES_FAILED', message='Every structure failed.')
        spec.exit_code(410, 'ERROR_TRAINING_FAILED', message='The training job failed with exit status {status}.')

    @classmethod
    def get_builder_from_protocol(
        cls,
        codes: dict[str, orm.AbstractCode],
        compositions: list[float] | None = None,
        seeds: list[int] | None = None,
        protocol: str | None = None,
        overrides: dict | None = None,
        options: dict | None = None,
        serial_options: dict | None = None,
        training_options: dict | None = None,
        calibration: orm.Dict | None = None,
        train: bool = True,
        potential: orm.SinglefileData | pathlib.Path | None = None,
        cells: dict[str, orm.StructureData] | None = None,
    ):
        """Builder for the whole pipeline from a protocol, composed of its children's protocols of the same name.

        :param codes: ``lmp``, ``pw``, ``xspectra``, ``pp`` and ``python`` codes (python runs Bader and training).
        :param compositions: x values (with ``seeds``); empty when only ``cells`` are given.
        :param cells: users' own cells by label (e.g. from :func:`~aiida_siox.calculations.structure_files.structure_node`).
        :param overrides: this protocol's keys, and the children's under ``structure`` (with ``md``, ``xanes``,
            ``bader`` inside), ``quartz`` (the calibration) and ``training``.
        :param options: job options of the MPI codes (default: 2 local MPI ranks).
        :param serial_options: job options of the Bader jobs (default: 1 local process, the MPI codes' wall time).
        :param training_options: job options of the training job (default: ``serial_options``); on a cluster the
            GPU partition and its directives (``queue_name``, ``custom_scheduler_commands``).
        :param calibration: an existing alpha-quartz calibration Dict; without it the workchain computes one.
        :param potential: the Tersoff file (default: Debian's lammps-data copy).
        """
        require_codes(codes, {'lmp', 'pw', 'xspectra', 'pp', 'python'}, cls.__name__)
        inputs = cls.get_protocol_inputs(protocol, overrides)
        builder = cls.get_builder()
        if compositions:
            builder.compositions = orm.List([float(x) for x in compositions])
            builder.seeds = orm.List([int(s) for s in seeds or []])
        if cells:
            builder.cells = cells
        structure = SiOxStructureWorkChain.get_builder_from_protocol(
            codes, protocol=protocol, overrides=inputs.get('structure'), options=options, serial_options=serial_options, potential=potential
        )
        builder.structure = structure
        # `auto` windows share the computer's job slots between structures and their sites (concurrency.py)
        structure_protocol = SiOxStructureWorkChain.get_protocol_inputs(protocol, inputs.get('structure'))
        site_window = SiteXanesWorkChain.get_protocol_inputs(protocol, structure_protocol.get('xanes'))['max_concurrent_sites']
        slots = concurrency.job_slots(codes['pw'].computer, mpi_options(options))
        structures, sites = concurrency.dataset_windows(inputs['max_concurrent_structures'], site_window, slots)
        builder.max_concurrent_structures = orm.Int(structures)
        builder.structure.xanes.max_concurrent_sites = orm.Int(sites)
        if calibration is not None:
            builder.calibration = calibration
        # The calibration itself runs with the sites' own XANES inputs (run_calibration), so C transfers.
        quartz = QuartzCalibrationWorkChain.get_protocol_inputs(protocol, inputs.get('quartz'))
        builder.quartz.target_ev = orm.Float(quartz['target_ev'])
        builder.quartz.supercell = orm.List(calibration_supercell(quartz['supercell'], structure.supercell.value * LATTICE_CONSTANT))
        if train:
            training = TrainingWorkChain.get_builder_from_protocol(
                codes['python'],
                protocol=protocol,
                overrides=inputs.get('training'),
                options={**serial_options_for(serial_options, options), **(training_options or {})},
            )
            builder.training = training
        return builder

    def setup(self):
        compositions, seeds = (self.inputs[name].get_list() if name in self.inputs else [] for name in ('compositions', 'seeds'))
        self.ctx.pending = [(float(x), int(seed)) for x in compositions for seed in seeds]
        # a user's cell: (label, its number), the number standing in for the seed in the rows
        self.ctx.pending += [(label, number) for number, label in enumerate(sorted(self.inputs.get('cells', {})), start=1)]
        self.ctx.finished = []
        self.ctx.failed = []
        if 'calibration' in self.inputs:
            self.ctx.calibration = self.inputs.calibration

    def needs_calibration(self):
        return 'calibration' not in self.inputs

    def run_calibration(self):
        xanes = AttributeDict(self.exposed_inputs(SiOxStructureWorkChain, namespace='structure'))['xanes']
        xanes = {
            key: value for key, value in xanes.items() if key in SiteXanesWorkChain.spec().inputs and key not in ('structure', 'sites')
        }
        inputs = AttributeDict(self.exposed_inputs(QuartzCalibrationWorkChain, namespace='quartz'))
        inputs.xanes = xanes
        inputs.metadata = {'call_link_label': 'quartz_calibration'}
        self.report(f'computing the alpha-quartz calibration ({inputs.supercell.get_list()} cell) with the production settings')
        return ToContext(quartz=submit_once(self, QuartzCalibrationWorkChain, **inputs))

    def inspect_calibration(self):
        if not self.ctx.quartz.is_finished_ok:
            return self.exit_codes.ERROR_CALIBRATION_FAILED.format(status=self.ctx.quartz.exit_status)
        self.ctx.calibration = self.ctx.quartz.outputs.calibration
        calibration = self.ctx.calibration
        self.report(
            f'calibration constant C = {calibration["constant_ev"]:.3f} eV ({calibration["alignment"]} form, '
            f'{calibration["cell"]["n_atoms"]}-atom quartz)'
        )

    def has_structures_left(self):
        return has_work_left(self.ctx)

    def submit_structures(self):
        """Launch structures until ``max_concurrent_structures`` are in flight, then wait (sliding window)."""
        launched = fill_window(self.ctx, self.inputs.max_concurrent_structures.value, self.launch_structure)
        if launched:
            labels = [work_label(*item) for item in launched]
            self.report(f'submitted {labels}; {len(self.ctx.in_flight)} in flight, {len(self.ctx.pending)} waiting')
        return wait_for_oldest(self.ctx.in_flight)

    def launch_structure(self, item):
        x_or_label, seed = item
        inputs = AttributeDict(self.exposed_inputs(SiOxStructureWorkChain, namespace='structure'))
        if isinstance(x_or_label, str):
            inputs.structure = self.inputs.cells[x_or_label]
        else:
            inputs.x = orm.Float(x_or_label)
        inputs.seed = orm.Int(seed)
        inputs.xanes = {**inputs.xanes, 'calibration': self.ctx.calibration}
        inputs.metadata = {'call_link_label': work_label(x_or_label, seed)}
        return submit_once(self, SiOxStructureWorkChain, **inputs)

    def inspect_structures(self):
        ended, self.ctx.in_flight = ended_children(self.ctx, self.ctx.in_flight)
        for node in ended:
            label = node.base.links.get_incoming(link_type=LinkType.CALL_WORK).one().link_label
            if node.is_finished_ok:
                self.ctx.finished.append(node)
                self.out(f'structures.{label}', node.outputs.structure)
            else:
                self.ctx.failed.append(label)
                self.report(f'structure {label} failed (<{node.pk}> exit status {node.exit_status}: {node.exit_message})')

    def assemble(self):
        if not self.ctx.finished:
            return self.exit_codes.ERROR_ALL_STRUCTURES_FAILED
        kwargs = assembly_inputs(self.ctx.finished)
        result = assemble_dataset(**kwargs)
        self.out('dataset', result['dataset'])
        self.out('manifest', result['manifest'])
        self.out('averages', structure_averages(result['dataset']))
        self.out('calibration', self.ctx.calibration)
        self.ctx.dataset = result['dataset']
        self.report(f'dataset: {result["manifest"]["n_rows"]} sites, {len(result["manifest"]["missing"])} missing')

    def should_train(self):
        return 'training' in self.inputs and 'job' in self.inputs.training and 'code' in self.inputs.training.job

    def run_training(self):
        inputs = AttributeDict(self.exposed_inputs(TrainingWorkChain, namespace='training'))
        inputs.job = {**inputs.job, 'dataset': self.ctx.dataset}
        inputs.metadata = {**inputs.get('metadata', {}), 'call_link_label': 'training'}
        return ToContext(training=submit_once(self, TrainingWorkChain, **inputs))

    def inspect_training(self):
        if not self.ctx.training.is_finished_ok:
            return self.exit_codes.ERROR_TRAINING_FAILED.format(status=self.ctx.training.exit_status)
        self.out_many(self.exposed_outputs(self.ctx.training, TrainingWorkChain, namespace='training'))

    def finalise(self):
        if self.ctx.failed:
            return self.exit_codes.WARNING_SOME_STRUCTURES_FAILED.format(labels=', '.join(self.ctx.failed))
