"""``SiOxDatasetWorkChain``: the whole pipeline, compositions x seeds -> dataset -> trained models.

calibrate on alpha-quartz (unless a calibration is given) -> per (x, seed) a
:class:`SiOxStructureWorkChain`, at most ``max_concurrent_structures`` at once -> ``assemble_dataset``
-> (optionally) :class:`TrainingWorkChain`. Build it with :meth:`get_builder_from_protocol`.
"""

from __future__ import annotations

import pathlib
from importlib import resources

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import ToContext, WorkChain, if_, while_
from aiida.plugins import DataFactory
from aiida_quantumespresso.workflows.protocols.utils import ProtocolMixin

from aiida_siox.analysis.spectrum import QUARTZ_MAIN_PEAK_EV
from aiida_siox.calculations.dataset import assemble_dataset, structure_averages
from aiida_siox.structures.builder import LATTICE_CONSTANT
from aiida_siox.structures.quartz import quartz_supercell_for
from aiida_siox.workflows.assembly import assembly_inputs
from aiida_siox.workflows.launch import submit_once
from aiida_siox.workflows.melt_quench import MeltQuenchWorkChain, tersoff_potential
from aiida_siox.workflows.quartz_calibration import QuartzCalibrationWorkChain, validate_supercell
from aiida_siox.workflows.site_xanes import SiteXanesWorkChain
from aiida_siox.workflows.sliding_window import ended_children, fill_window, has_work_left, wait_for_oldest
from aiida_siox.workflows.structure_pipeline import SiOxStructureWorkChain
from aiida_siox.workflows.training import TrainingWorkChain

UpfData = DataFactory('pseudo.upf')
#: Default job options for codes on the local machine (2 MPI ranks); clusters override them.
LOCAL_OPTIONS = {'resources': {'num_machines': 1, 'num_mpiprocs_per_machine': 2}, 'withmpi': True, 'max_wallclock_seconds': 3600}
SERIAL_OPTIONS = {'resources': {'num_machines': 1, 'num_mpiprocs_per_machine': 1}, 'withmpi': False, 'max_wallclock_seconds': 3600}


def structure_label(x: float, seed: int) -> str:
    """Link label of one structure, e.g. ``x1p25_seed3``."""
    return f'x{x:.2f}'.replace('.', 'p') + f'_seed{seed}'


def validate_compositions(value, _):
    if value is not None and (not value.get_list() or any(not 0 <= float(x) <= 2 for x in value.get_list())):
        return f'compositions must be a non-empty list of x values in [0, 2], got {value.get_list()}'


def validate_seeds(value, _):
    seeds = value.get_list() if value is not None else []
    if value is not None and (not seeds or any(not isinstance(s, int) or s <= 0 for s in seeds) or len(set(seeds)) != len(seeds)):
        return f'seeds must be distinct positive integers, got {seeds}'


def validate_calibration_form(inputs, _):
    """A given calibration must have been made with the alignment form the sites will use."""
    calibration = inputs.get('calibration')
    form = inputs.get('structure', {}).get('xanes', {}).get('alignment')
    if calibration is not None and form is not None and calibration.get('alignment') != form.value:
        return (
            f'calibration <{calibration.pk}> was made for the {calibration.get("alignment", "none")} alignment form, '
            f'the sites use {form.value}: compute a new one (leave `calibration` out) or run `siox realign` on its graph'
        )


def calibration_supercell_for(setting: str | list[int], supercell: int) -> list[int]:
    """The protocol's quartz calibration cell: explicit ``[n1, n2, n3]``, or ``auto`` for the smallest
    quartz supercell with every side at least as long as the starting production cell's."""
    if setting == 'auto':
        return list(quartz_supercell_for(supercell * LATTICE_CONSTANT))
    return [int(n) for n in setting]


class SiOxDatasetWorkChain(ProtocolMixin, WorkChain):
    """Compositions x seeds -> melt-quench -> XANES, Bader, RDFs -> dataset -> training."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('compositions', valid_type=orm.List, validator=validate_compositions, help='x values of SiOx.')
        spec.input('seeds', valid_type=orm.List, validator=validate_seeds, help='Seeds; each composition runs every seed.')
        spec.input('max_concurrent_structures', valid_type=orm.Int, default=lambda: orm.Int(1))
        spec.input('calibration', valid_type=orm.Dict, required=False, help='Existing alpha-quartz calibration (else computed).')
        spec.input('target_ev', valid_type=orm.Float, default=lambda: orm.Float(QUARTZ_MAIN_PEAK_EV), help='alpha-quartz main peak (eV).')
        spec.input(
            'calibration_supercell',
            valid_type=orm.List,
            default=lambda: orm.List([1, 1, 1]),
            validator=validate_supercell,
            help='alpha-quartz supercell of the calibration (the protocol picks one comparable with the production cells).',
        )
        spec.expose_inputs(SiOxStructureWorkChain, namespace='structure', exclude=('x', 'seed', 'xanes.calibration'))
        spec.expose_inputs(
            TrainingWorkChain,
            namespace='training',
            exclude=('job.dataset',),
            namespace_options={'required': False, 'populate_defaults': False, 'help': 'Leave out to skip training.'},
        )
        spec.inputs.validator = validate_calibration_form
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
        spec.exit_code(401, 'WARNING_SOME_STRUCTURES_FAILED', message='Structures {labels} failed; the dataset holds the others.')
        spec.exit_code(402, 'ERROR_ALL_STRUCTURES_FAILED', message='Every structure failed.')
        spec.exit_code(410, 'ERROR_TRAINING_FAILED', message='The training job failed with exit status {status}.')

    @classmethod
    def get_protocol_filepath(cls) -> pathlib.Path:
        return pathlib.Path(str(resources.files('aiida_siox.protocols') / 'siox.yaml'))

    @classmethod
    def get_builder_from_protocol(
        cls,
        codes: dict[str, orm.AbstractCode],
        compositions: list[float],
        seeds: list[int],
        protocol: str | None = None,
        overrides: dict | None = None,
        options: dict | None = None,
        serial_options: dict | None = None,
        training_options: dict | None = None,
        calibration: orm.Dict | None = None,
        train: bool = True,
        potential: orm.SinglefileData | pathlib.Path | None = None,
    ):
        """Builder for the whole pipeline from a protocol.

        :param codes: ``lmp``, ``pw``, ``xspectra``, ``pp`` and ``python`` codes (python runs Bader and training).
        :param options: job options of the MPI codes (default: 2 local MPI ranks).
        :param serial_options: job options of the Bader jobs (default: 1 local process, the MPI codes' wall time).
        :param training_options: job options of the training job (default: ``serial_options``); on a cluster the
            GPU partition and its directives (``queue_name``, ``custom_scheduler_commands``).
        :param calibration: an existing alpha-quartz calibration Dict; without it the workchain computes one.
        :param potential: the Tersoff file (default: Debian's lammps-data copy).
        """
        missing = {'lmp', 'pw', 'xspectra', 'pp', 'python'} - set(codes)
        if missing:
            raise ValueError(f'codes missing for {sorted(missing)}: run `siox setup` or pass them explicitly')
        inputs = cls.get_protocol_inputs(protocol, overrides)
        mpi_options = {**LOCAL_OPTIONS, **(options or {})}
        serial_options = {**SERIAL_OPTIONS, 'max_wallclock_seconds': mpi_options['max_wallclock_seconds'], **(serial_options or {})}
        training_options = {**serial_options, **(training_options or {})}
        potential = tersoff_potential(potential)
        md = MeltQuenchWorkChain.get_protocol_inputs(protocol, (overrides or {}).get('md'))

        xanes_settings, bader_settings, scf = inputs['xanes'], inputs['bader'], inputs['scf']
        families = {
            label: orm.load_group(label)
            for label in (xanes_settings['pseudo_family'], xanes_settings['core_hole_family'], bader_settings['pseudo_family'])
        }
        core_wavefunction = orm.load_group(xanes_settings['core_wavefunction_group']).nodes[0]

        def pw_namespace(family_label: str, ecutwfc: float, ecutrho: float) -> dict:
            family = families[family_label]
            return {
                'pw': {
                    'code': codes['pw'],
                    'parameters': orm.Dict(
                        {
                            'CONTROL': {'calculation': 'scf'},
                            'SYSTEM': {
                                'ecutwfc': ecutwfc,
                                'ecutrho': ecutrho,
                                'occupations': 'smearing',
                                'smearing': scf['smearing'],
                                'degauss': scf['degauss'],
                            },
                            'ELECTRONS': {'conv_thr': scf['conv_thr'], 'mixing_beta': scf['mixing_beta']},
                        }
                    ),
                    'pseudos': {element: family.get_pseudo(element) for element in ('Si', 'O')},
                    'metadata': {'options': mpi_options},
                },
                'kpoints': _mesh(scf['kpoints_mesh']),
            }

        xspectra_parameters = {
            'INPUT_XSPECTRA': {
                'calculation': 'xanes_dipole',
                'edge': 'K',
                'xniter': xanes_settings['xniter'],
                'xerror': xanes_settings['xerror'],
                'xcheck_conv': xanes_settings['xcheck_conv'],
            },
            'PLOT': {
                'xnepoint': xanes_settings['xnepoint'],
                'xgamma': xanes_settings['xgamma'],
                'xemin': xanes_settings['xemin'],
                'xemax': xanes_settings['xemax'],
                'terminator': True,
                'cut_occ_states': True,
            },
            'PSEUDOS': {'r_paw': [xanes_settings['r_paw']]},
            'CUT_OCC': {'cut_desmooth': xanes_settings['cut_desmooth']},
        }
        builder = cls.get_builder()
        builder.compositions = orm.List([float(x) for x in compositions])
        builder.seeds = orm.List([int(s) for s in seeds])
        builder.max_concurrent_structures = orm.Int(inputs['max_concurrent_structures'])
        builder.target_ev = orm.Float(xanes_settings['target_ev'])
        builder.calibration_supercell = orm.List(calibration_supercell_for(xanes_settings['calibration_supercell'], inputs['supercell']))
        if calibration is not None:
            builder.calibration = calibration
        builder.structure = {
            'supercell': orm.Int(inputs['supercell']),
            'sites_per_structure': orm.Int(inputs['sites_per_structure']),
            'rdf_sigma': orm.Float(inputs['rdf_sigma']),
            'md': {
                'parameters': orm.Dict({**md['parameters'], 'seed': 1}),  # each structure sets its own seed
                'validation': orm.Dict(md['validation']),
                'max_iterations': orm.Int(md['max_iterations']),
                'potential': potential,
                'lammps': {'code': codes['lmp'], 'metadata': {'options': mpi_options}},
            },
            'xanes': {
                'max_concurrent_sites': orm.Int(xanes_settings['max_concurrent_sites']),
                'alignment': orm.Str(xanes_settings['alignment']),
                'xe0_mid_gap': orm.Bool(xanes_settings['xe0_mid_gap']),
                'core_hole_pseudo': families[xanes_settings['core_hole_family']].get_pseudo('Si'),
                'core_wavefunction': core_wavefunction,
                'scf': pw_namespace(xanes_settings['pseudo_family'], scf['ecutwfc'], scf['ecutrho']),
                'xspectra': {
                    'code': codes['xspectra'],
                    'parameters': orm.Dict(xspectra_parameters),
                    'kpoints': _mesh(xanes_settings['kpoints_mesh']),
                    'metadata': {'options': mpi_options},
                },
            },
            'bader': {
                'scf': pw_namespace(bader_settings['pseudo_family'], bader_settings['ecutwfc'], bader_settings['ecutrho']),
                'pp_code': codes['pp'],
                'bader': {
                    'code': codes['python'],
                    'tolerance': orm.Float(bader_settings['tolerance']),
                    'metadata': {'options': serial_options},
                },
            },
        }
        if train:
            builder.training = {
                'job': {'code': codes['python'], 'config': orm.Dict(inputs['training']), 'metadata': {'options': training_options}}
            }
        return builder

    def setup(self):
        self.ctx.pending = [(float(x), int(seed)) for x in self.inputs.compositions.get_list() for seed in self.inputs.seeds.get_list()]
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
        inputs = {
            'xanes': xanes,
            'target_ev': self.inputs.target_ev,
            'supercell': self.inputs.calibration_supercell,
            'metadata': {'call_link_label': 'quartz_calibration'},
        }
        self.report(
            f'computing the alpha-quartz calibration ({self.inputs.calibration_supercell.get_list()} cell) with the production settings'
        )
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
            labels = [structure_label(x, seed) for x, seed in launched]
            self.report(f'submitted {labels}; {len(self.ctx.in_flight)} in flight, {len(self.ctx.pending)} waiting')
        return wait_for_oldest(self.ctx.in_flight)

    def launch_structure(self, composition_and_seed):
        x, seed = composition_and_seed
        inputs = AttributeDict(self.exposed_inputs(SiOxStructureWorkChain, namespace='structure'))
        inputs.x, inputs.seed = orm.Float(x), orm.Int(seed)
        inputs.xanes = {**inputs.xanes, 'calibration': self.ctx.calibration}
        inputs.metadata = {'call_link_label': structure_label(x, seed)}
        return submit_once(self, SiOxStructureWorkChain, **inputs)

    def inspect_structures(self):
        ended, self.ctx.in_flight = ended_children(self.ctx, self.ctx.in_flight)
        for node in ended:
            label = structure_label(node.inputs.x.value, node.inputs.seed.value)
            if node.is_finished_ok:
                self.ctx.finished.append(node)
                self.out(f'structures.{label}', node.outputs.md.structure)
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
        self.out('averages', structure_averages(result['dataset'], result['manifest']))
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


def _mesh(mesh: list[int]) -> orm.KpointsData:
    kpoints = orm.KpointsData()
    kpoints.set_kpoints_mesh(mesh)
    return kpoints
