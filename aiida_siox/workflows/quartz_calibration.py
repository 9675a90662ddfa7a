"""``QuartzCalibrationWorkChain``: the constant C that puts alpha-quartz's main peak on experiment.

All Si of alpha-quartz are equivalent, so one site is enough. The same SCF/xspectra inputs and the
same alignment form as the production run must be used (same pseudopotentials, cutoff, k-mesh,
broadening), otherwise C does not transfer; the dataset workchain's protocol guarantees that. The
quartz cell is a supercell (``supercell``) chosen per protocol to be comparable with the production
cells: in the 9-atom cell the core hole sees its own image ~5 A away, and C would absorb that
finite-size error (structures/quartz.py, docs/method.md).
"""

from __future__ import annotations

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import ToContext, WorkChain

from aiida_siox.analysis.spectrum import QUARTZ_MAIN_PEAK_EV
from aiida_siox.calculations.spectra import quartz_calibration
from aiida_siox.calculations.structure_edit import alpha_quartz
from aiida_siox.protocols.inputs import SioxProtocolMixin
from aiida_siox.structures.quartz import quartz_supercell_for
from aiida_siox.workflows.launch import submit_once
from aiida_siox.workflows.site_xanes import SiteXanesWorkChain


def validate_supercell(value, _):
    if value is not None and (len(value.get_list()) != 3 or any(not isinstance(n, int) or n < 1 for n in value.get_list())):
        return f'supercell must be three positive integers, got {value.get_list()}'


def calibration_supercell(setting: str | list[int], production_cell_length: float | None = None) -> list[int]:
    """The quartz calibration cell: explicit ``[n1, n2, n3]``, or ``auto`` for the smallest quartz supercell
    with every side at least ``production_cell_length`` (A)."""
    if setting == 'auto':
        if production_cell_length is None:
            raise ValueError('supercell `auto` needs the production cell length (or give [n1, n2, n3])')
        return list(quartz_supercell_for(production_cell_length))
    return [int(n) for n in setting]


class QuartzCalibrationWorkChain(SioxProtocolMixin, WorkChain):
    """Compute alpha-quartz with the given settings and derive the calibration constant C."""

    _protocol_file = 'quartz_calibration.yaml'

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.expose_inputs(SiteXanesWorkChain, namespace='xanes', exclude=('structure', 'sites', 'calibration'))
        spec.input('target_ev', valid_type=orm.Float, default=lambda: orm.Float(QUARTZ_MAIN_PEAK_EV), help='Experimental main peak (eV).')
        spec.input(
            'supercell',
            valid_type=orm.List,
            default=lambda: orm.List([1, 1, 1]),
            validator=validate_supercell,
            help='Repetitions of the 9-atom alpha-quartz cell along a, b, c.',
        )
        spec.outline(cls.run_quartz, cls.calibrate)
        spec.output(
            'calibration', valid_type=orm.Dict, help='constant_ev (C), quartz peak before C, target_ev, alignment form, quartz cell.'
        )
        spec.output('quartz_spectrum', valid_type=orm.XyData)
        spec.exit_code(400, 'ERROR_QUARTZ_FAILED', message='The alpha-quartz XANES run failed with exit status {status}.')

    @classmethod
    def get_builder_from_protocol(
        cls,
        codes: dict[str, orm.AbstractCode],
        protocol: str | None = None,
        overrides: dict | None = None,
        options: dict | None = None,
        production_cell_length: float | None = None,
    ):
        """Builder for the calibration from a protocol; the XANES settings are SiteXanesWorkChain's protocol.

        :param codes: ``pw`` and ``xspectra`` codes.
        :param overrides: this protocol's keys, and the XANES settings under ``xanes``.
        :param production_cell_length: shortest side (A) of the production cells, for ``supercell: auto``.
        """
        inputs = cls.get_protocol_inputs(protocol, overrides)
        builder = cls.get_builder()
        builder.target_ev = orm.Float(inputs['target_ev'])
        builder.supercell = orm.List(calibration_supercell(inputs['supercell'], production_cell_length))
        xanes = SiteXanesWorkChain.get_builder_from_protocol(codes, protocol=protocol, overrides=inputs.get('xanes'), options=options)
        xanes.max_concurrent_sites = orm.Int(1)
        builder.xanes = xanes
        return builder

    def run_quartz(self):
        inputs = AttributeDict(self.exposed_inputs(SiteXanesWorkChain, namespace='xanes'))
        inputs.structure = alpha_quartz(self.inputs.supercell)
        inputs.sites = orm.List([0])
        inputs.metadata = {'call_link_label': 'alpha_quartz'}
        return ToContext(quartz=submit_once(self, SiteXanesWorkChain, **inputs))

    def calibrate(self):
        node = self.ctx.quartz
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_QUARTZ_FAILED.format(status=node.exit_status)
        raw = node.outputs.raw_spectra.site_0
        calibration = quartz_calibration(raw, node.outputs.alignments.site_0, self.inputs.target_ev, node.inputs.structure)
        self.out('calibration', calibration)
        self.out('quartz_spectrum', raw)
