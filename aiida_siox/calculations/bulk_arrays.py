"""The arrays of many stored ArrayData nodes, read in one pass over the file repository.

``ArrayData.get_array`` opens one repository object per call, and each open first asks the object
store whether the object exists (one SQLite query). Assembling a dataset reads a few arrays from
each of ~45 tables: one bulk stream (``iter_object_streams``) replaces hundreds of those queries.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from aiida import orm
from aiida.manage import get_manager


def read_arrays(nodes: Sequence[orm.ArrayData], names: Sequence[str], optional: Sequence[str] = ()) -> list[dict[str, np.ndarray]]:
    """Per node, the arrays ``names`` (each must exist in every node) and those of ``optional`` that
    the node has, in the order of ``nodes``."""
    keys: dict[tuple[int, str], str] = {}
    for index, node in enumerate(nodes):
        files = node.base.repository.metadata.get('o', {})
        for name in (*names, *optional):
            entry = files.get(f'{name}.npy')
            if entry is None and name in names:
                raise KeyError(f'{type(node).__name__}<{node.pk}> has no array `{name}`')
            if entry is not None:
                keys[(index, name)] = entry['k']
    repository = get_manager().get_profile_storage().get_repository()
    contents = {key: stream.read() for key, stream in repository.iter_object_streams(set(keys.values()))}
    result: list[dict[str, np.ndarray]] = [{} for _ in nodes]
    for (index, name), key in keys.items():
        result[index][name] = np.load(io.BytesIO(contents[key]), allow_pickle=False)
    return result
