"""The partial-success contract shared by the fan-out workchains (sites of a structure, structures of a dataset).

Exit status 0: every item succeeded. Exit status 401 (``PARTIAL_SUCCESS``): some items failed; the
outputs hold every item that succeeded, and the failures are listed (``failed_sites`` output of
SiteXanesWorkChain, the report and ``manifest`` of SiOxDatasetWorkChain). Any other non-zero status:
nothing usable. Callers test :func:`has_usable_outputs` rather than the number.
"""

from __future__ import annotations

from aiida import orm

#: Exit status of a fan-out workchain whose outputs hold what succeeded while some items failed.
PARTIAL_SUCCESS = 401


def has_usable_outputs(node: orm.ProcessNode) -> bool:
    """Whether ``node`` finished with all (exit 0) or some (exit 401) of its items in its outputs."""
    return node.is_finished and node.exit_status in (0, PARTIAL_SUCCESS)
