"""baderkit's kernels compiled at set-up by one tiny real Bader job through the pipeline's own code."""

import pytest
from aiida import orm

from aiida_siox.calculations.bader import BaderCalculation
from aiida_siox.setup.bader_warmup import WARMED_EXTRA, WARMUP_REVISION, warm_bader_cache

pytestmark = pytest.mark.codes


def test_warmup_runs_a_real_bader_job_once_per_baderkit_version(siox_setup):
    from baderkit import __version__

    code = siox_setup['codes']['python']
    if WARMED_EXTRA in code.base.extras:
        code.base.extras.delete(WARMED_EXTRA)
    lines: list[str] = []
    seconds = warm_bader_cache(code, lines.append)
    assert seconds is not None and code.base.extras.get(WARMED_EXTRA) == f'{__version__}+{WARMUP_REVISION}', lines
    job = (
        orm.QueryBuilder()
        .append(BaderCalculation, filters={'label': 'numba warm-up'})
        .order_by({BaderCalculation: {'ctime': 'desc'}})
        .first(flat=True)
    )
    assert job.is_finished_ok, job.exit_message
    shape = job.outputs.summary['grid_shape']
    assert shape[0] * shape[1] * shape[2] > 65535  # baderkit's uint32 kernels, those of every real cell
    populations = job.outputs.charges.get_array('population')
    assert populations.sum() == pytest.approx(8.0, abs=0.05) and populations == pytest.approx([4.0, 4.0], abs=0.05)  # two equal Si
    assert warm_bader_cache(code, lines.append) is None and 'already' in lines[-1]  # the second set-up skips it
