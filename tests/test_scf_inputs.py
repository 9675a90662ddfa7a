"""When an SCF runs pw.x's Gamma-point code (``K_POINTS gamma``): only on the Gamma point alone."""

import pytest
from aiida import orm

from aiida_siox.workflows.scf_inputs import is_gamma_point_mesh


@pytest.mark.parametrize(
    ('mesh', 'offset', 'expected'),
    [
        ([1, 1, 1], [0, 0, 0], True),
        ([2, 2, 2], [0, 0, 0], False),
        ([1, 1, 2], [0, 0, 0], False),
        ([1, 1, 1], [0.5, 0.5, 0.5], False),
    ],
)
def test_gamma_point_mesh(mesh, offset, expected, aiida_profile):
    kpoints = orm.KpointsData()
    kpoints.set_kpoints_mesh(mesh, offset)
    assert is_gamma_point_mesh(kpoints) is expected


def test_no_kpoints_or_an_explicit_list_is_not_the_gamma_mesh(aiida_profile):
    kpoints = orm.KpointsData()
    kpoints.set_cell([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    kpoints.set_kpoints([[0.0, 0.0, 0.0]])
    assert not is_gamma_point_mesh(kpoints) and not is_gamma_point_mesh(None)
