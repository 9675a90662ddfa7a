"""Shared fixtures: a temporary AiiDA profile (aiida's fixtures), our codes and pseudopotential families."""

from __future__ import annotations

import pytest

pytest_plugins = ['aiida.tools.pytest_fixtures']


@pytest.fixture(scope='session')
def siox_setup(aiida_profile):
    """localhost computer, the six codes and the generated pseudopotential families (real ld1.x jobs)."""
    from aiida_siox.setup.environment import DEFAULT_CONFIG_DIR, ensure_codes, ensure_computer
    from aiida_siox.workflows.pseudopotentials import ensure_pseudo_families

    computer = ensure_computer(DEFAULT_CONFIG_DIR, print)
    codes = ensure_codes(DEFAULT_CONFIG_DIR, computer, print)
    families = ensure_pseudo_families(codes['ld1'], print)
    return {'computer': computer, 'codes': codes, 'families': families}
