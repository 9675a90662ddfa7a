"""``read_arrays``: many nodes' arrays in one pass over the repository, required and optional names."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def tables(aiida_profile):
    from aiida import orm

    nodes = []
    for k in range(3):
        node = orm.ArrayData()
        node.set_array('values', np.arange(4.0) + 10 * k)
        if k == 1:  # only the second has the optional array
            node.set_array('source', np.array([f'cell{k}.cif']))
        nodes.append(node.store())
    return nodes


def test_each_node_gets_its_own_arrays_and_only_the_optional_ones_it_has(tables):
    from aiida_siox.calculations.bulk_arrays import read_arrays

    contents = read_arrays(tables, ('values',), optional=('source',))
    assert [sorted(arrays) for arrays in contents] == [['values'], ['source', 'values'], ['values']]
    for k, arrays in enumerate(contents):  # in the order of the nodes, each its own data
        np.testing.assert_array_equal(arrays['values'], tables[k].get_array('values'))
    assert contents[1]['source'].tolist() == ['cell1.cif']


def test_a_required_array_that_a_node_lacks_is_named_in_the_error(tables):
    from aiida_siox.calculations.bulk_arrays import read_arrays

    with pytest.raises(KeyError, match=rf'ArrayData<{tables[0].pk}> has no array `source`'):
        read_arrays(tables, ('values', 'source'))
