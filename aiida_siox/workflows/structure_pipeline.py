"""``SiOxStructureWorkChain``: one composition and seed, or one user's cell, to per-site targets.

build_amorphous_seed -> MeltQuenchWorkChain (with validation) -> SiteXanesWorkChain -> BaderWorkChain -> site_rdfs
-> structure_rows (this cell's dataset rows, made when the cell ends rather than all at once at assembly).
A user's cell (input ``structure``) replaces the first two steps, or only the first with ``relax``
(then the cell is melt-quenched from the user's positions); its x is counted from the cell.
XANES and Bader run one after the other: on a small machine both at once oversubscribe the cores;
on a cluster the parallelism comes from many structures and sites at once.
"""

from __future__ import annotations

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import ToContext, WorkChain, if_

from aiida_siox.analysis.rdf import RDF_SIGMA
from aiida_siox.calculations.dataset import site_rdfs, structure_rows
from aiida_siox.calculations.structure_builder import START_DENSITIES, build_amorphous_seed, start_density_inputs
from aiida_siox.calculations.structure_edit import select_sites
from aiida_siox.calculations.structure_files import user_structure_x
from aiida_siox.protocols.inputs import SioxProtocolMixin, require_codes
from aiida_siox.workflows.assembly import row_inputs
from aiida_siox.workflows.bader import BaderWorkChain
from aiida_siox.workflows.launch import submit_once
from aiida_siox.workflows.melt_quench import MeltQuenchWorkChain
from aiida_siox.workflows.partial_success import has_usable_outputs
from aiida_siox.workflows.site_xanes import SiteXanesWorkChain


def validate_x_or_structure(inputs, namespace):
    if 'x' not in namespace or 'structure' not in namespace:
        return None  # exposed without them (SiOxDatasetWorkChain): the caller sets one per structure
    if ('x' in inputs) == ('structure' in inputs):
        return 'give either a composition `x` (a random cell is built and melt-quenched) or a `structure`, not both'


def validate_start_density(value, _):
    if value is not None and value.value not in START_DENSITIES:
        return f'start_density must be one of {", ".join(START_DENSITIES)}, got {value.value!r}'


class SiOxStructureWorkChain(SioxProtocolMixin, WorkChain):
    """All per-structure stages for one (x, seed) or one user's cell."""

    _protocol_file = 'structure.yaml'

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('x', valid_type=orm.Float, required=False, help='Composition x of SiOx (or give `structure`).')
        spec.input('seed', valid_type=orm.Int, help='Seed of the random cell and of the MD velocities (a user cell: its number).')
        spec.input('structure', valid_type=orm.StructureData, required=False, help="A user's Si-O cell instead of x.")
        spec.input('relax', valid_type=orm.Bool, default=lambda: orm.Bool(False), help="Melt-quench the user's cell first.")
        spec.input('supercell', valid_type=orm.Int, default=lambda: orm.Int(4), help='n of the n^3 cubic SiO2 supercell.')
        spec.input(
            'start_density',
            valid_type=orm.Str,
            default=lambda: orm.Str('lattice'),
            validator=validate_start_density,
            help="Volume of the random cell: the lattice's own (`lattice`) or the composition's reference density (`reference`).",
        )
        spec.input('sites_per_structure', valid_type=orm.Int, default=lambda: orm.Int(0), help='Si sites for XANES (0: all).')
        spec.input(
            'rdf_sigma',
            valid_type=orm.Float,
            default=lambda: orm.Float(RDF_SIGMA),
            help='Gaussian width (A) of each neighbour in the per-site RDFs (docs/method.md).',
        )
        spec.expose_inputs(MeltQuenchWorkChain, namespace='md', exclude=('structure',))
        spec.expose_inputs(SiteXanesWorkChain, namespace='xanes', exclude=('structure', 'sites'))
        spec.expose_inputs(BaderWorkChain, namespace='bader', exclude=('structure',))
        spec.inputs.validator = validate_x_or_structure
        spec.outline(
            cls.build,
            if_(cls.should_run_md)(cls.run_md, cls.inspect_md),
            cls.run_xanes,
            cls.run_bader,
            cls.results,
        )
        spec.output('initial_structure', valid_type=orm.StructureData)
        spec.output('structure', valid_type=orm.StructureData, help='The cell whose sites were computed.')
        spec.output('x', valid_type=orm.Float, required=False, help="x counted from a user's cell.")
        spec.expose_outputs(MeltQuenchWorkChain, namespace='md', namespace_options={'required': False})
        spec.expose_outputs(SiteXanesWorkChain, namespace='xanes')
        spec.output('sites', valid_type=orm.List, help='Si sites sent to XANES.')
        spec.output('charges', valid_type=orm.ArrayData, required=False)
        spec.output('rdfs', valid_type=orm.ArrayData)
        spec.output(
            'rows', valid_type=orm.ArrayData, required=False, help="This cell's dataset rows (structure_rows), missing sites listed."
        )
        spec.exit_code(400, 'ERROR_MD_FAILED', message='The melt-quench failed with exit status {status}.')
        spec.exit_code(403, 'ERROR_STRUCTURE_INVALID', message='The quenched structure failed validation, skipped: {reasons}')
        spec.exit_code(410, 'ERROR_XANES_FAILED', message='XANES failed for every site (exit status {status}).')
        spec.exit_code(420, 'ERROR_BADER_FAILED', message='The Bader stage failed with exit status {status}.')

    @classmethod
    def get_builder_from_protocol(
        cls,
        codes: dict[str, orm.AbstractCode],
        x: float | None = None,
        seed: int | None = None,
        protocol: str | None = None,
        overrides: dict | None = None,
        options: dict | None = None,
        serial_options: dict | None = None,
        calibration: orm.Dict | None = None,
        potential=None,
    ):
        """Builder for one (x, seed) from a protocol; its children's builders come from their own protocols.

        :param codes: ``lmp``, ``pw``, ``xanes``, ``pp`` and ``python`` codes.
        :param overrides: this protocol's keys, and the children's under ``md``, ``xanes`` and ``bader``.
        :param options: job options of the MPI codes (default: 2 local MPI ranks, 1 h).
        :param serial_options: job options of the Bader job (default: 1 local process, the MPI codes' wall time).
        :param potential: the Tersoff file (default: Debian's lammps-data copy).
        """
        require_codes(codes, {'lmp', 'pw', 'xspectra', 'pp', 'python'}, cls.__name__)
        inputs = cls.get_protocol_inputs(protocol, overrides)
        builder = cls.get_builder()
        if x is not None:
            builder.x = orm.Float(x)
        if seed is not None:
            builder.seed = orm.Int(seed)
        builder.supercell = orm.Int(inputs['supercell'])
        builder.sites_per_structure = orm.Int(inputs['sites_per_structure'])
        builder.start_density = orm.Str(inputs['start_density'])
        builder.rdf_sigma = orm.Float(inputs['rdf_sigma'])
        # The structure sets the MD seed to its own; the protocol's placeholder is replaced at launch.
        builder.md = MeltQuenchWorkChain.get_builder_from_protocol(
            codes['lmp'], seed=seed or 1, protocol=protocol, overrides=inputs.get('md'), options=options, potential=potential
        )
        builder.xanes = SiteXanesWorkChain.get_builder_from_protocol(
            codes, protocol=protocol, overrides=inputs.get('xanes'), options=options, calibration=calibration
        )
        builder.bader = BaderWorkChain.get_builder_from_protocol(
            codes, protocol=protocol, overrides=inputs.get('bader'), options=options, bader_options=serial_options
        )
        return builder

    def build(self):
        if 'structure' in self.inputs:
            self.ctx.initial = self.inputs.structure
            self.out('x', user_structure_x(self.inputs.structure))
        else:
            scaled = start_density_inputs(self.inputs.start_density.value)
            self.ctx.initial = build_amorphous_seed(self.inputs.x, self.inputs.seed, self.inputs.supercell, **scaled)
        self.out('initial_structure', self.ctx.initial)
        self.ctx.structure = self.ctx.initial

    def should_run_md(self):
        return 'structure' not in self.inputs or self.inputs.relax.value

    def run_md(self):
        inputs = AttributeDict(self.exposed_inputs(MeltQuenchWorkChain, namespace='md'))
        inputs.structure = self.ctx.initial
        if inputs.parameters.get('seed') != self.inputs.seed.value:
            parameters = inputs.parameters.get_dict()
            parameters['seed'] = self.inputs.seed.value  # one seed per structure, explicit in the script
            inputs.parameters = orm.Dict(parameters)
        inputs.metadata = {'call_link_label': 'melt_quench'}
        return ToContext(md=submit_once(self, MeltQuenchWorkChain, **inputs))

    def inspect_md(self):
        md = self.ctx.md
        if md.exit_status == MeltQuenchWorkChain.exit_codes.ERROR_STRUCTURE_INVALID.status:
            # Keep what was checked so the user can see why; spend no DFT on it.
            self.out_many(self.exposed_outputs(md, MeltQuenchWorkChain, namespace='md'))
            return self.exit_codes.ERROR_STRUCTURE_INVALID.format(reasons='; '.join(md.outputs.validation['reasons']))
        if not md.is_finished_ok:
            return self.exit_codes.ERROR_MD_FAILED.format(status=md.exit_status)
        self.out_many(self.exposed_outputs(self.ctx.md, MeltQuenchWorkChain, namespace='md'))
        self.ctx.structure = self.ctx.md.outputs.structure

    def run_xanes(self):
        self.out('structure', self.ctx.structure)
        sites = select_sites(self.ctx.structure, self.inputs.sites_per_structure)
        self.out('sites', sites)
        inputs = AttributeDict(self.exposed_inputs(SiteXanesWorkChain, namespace='xanes'))
        inputs.structure = self.ctx.structure
        inputs.sites = sites
        inputs.metadata = {'call_link_label': 'xanes'}
        return ToContext(xanes=submit_once(self, SiteXanesWorkChain, **inputs))

    def run_bader(self):
        inputs = AttributeDict(self.exposed_inputs(BaderWorkChain, namespace='bader'))
        inputs.structure = self.ctx.structure
        inputs.metadata = {'call_link_label': 'bader'}
        return ToContext(bader=submit_once(self, BaderWorkChain, **inputs))

    def results(self):
        rdfs = site_rdfs(self.ctx.structure, self.inputs.rdf_sigma)
        self.out('rdfs', rdfs)
        xanes = self.ctx.xanes
        # Some sites failed (partial success): keep what succeeded; the dataset lists the missing sites.
        if has_usable_outputs(xanes):
            self.out_many(self.exposed_outputs(xanes, SiteXanesWorkChain, namespace='xanes'))
        else:
            return self.exit_codes.ERROR_XANES_FAILED.format(status=xanes.exit_status)
        if not self.ctx.bader.is_finished_ok:
            return self.exit_codes.ERROR_BADER_FAILED.format(status=self.ctx.bader.exit_status)
        charges = self.ctx.bader.outputs.charges
        self.out('charges', charges)
        rows = row_inputs(
            structure=self.ctx.structure,
            x=self.inputs.x if 'x' in self.inputs else self.outputs['x'],  # a user's cell: counted from it
            seed=self.inputs.seed,
            sites=self.outputs['sites'],
            rdfs=rdfs,
            spectra=xanes.outputs.aligned_spectra if 'aligned_spectra' in xanes.outputs else {},
            charges=charges,
            initial_structure=self.inputs.get('structure'),
        )
        self.out('rows', structure_rows(**rows))
