"""What every ``siox`` command shares: the command classes, the profile option, the error handling."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable

import click
from aiida.cmdline.groups.verdi import VerdiCommand, VerdiCommandGroup, VerdiContext
from aiida.cmdline.params import options, types


class SioxCommand(VerdiCommand):
    """A verdi-style command that also works when invoked on its own (it makes its own ``VerdiContext``)."""

    context_class = VerdiContext


class SioxCommandGroup(VerdiCommandGroup):
    """verdi's command group (``-v/--verbosity`` on every command, suggestions on typos) with :class:`SioxCommand`."""

    command_class = SioxCommand


#: ``-p/--profile`` of every command that works in an existing profile: loads it (default: the default profile).
PROFILE = options.PROFILE(type=types.ProfileParamType(load_profile=True), expose_value=False)


def fail(message: str) -> None:
    """Print ``Error: message`` on stderr and exit with status 1."""
    click.secho(f'Error: {message}', fg='red', err=True)
    sys.exit(1)


def exits_on(*errors: type[Exception]) -> Callable:
    """Turn the given exceptions into a one-line ``Error: ...`` and exit status 1 (no traceback)."""

    def decorator(command: Callable) -> Callable:
        @functools.wraps(command)
        def wrapper(*args, **kwargs):
            try:
                return command(*args, **kwargs)
            except errors as exception:
                fail(str(exception))

        return wrapper

    return decorator


def load_node_or_fail(identifier: str):
    """A node by pk or UUID of the loaded profile, or exit with a clear message."""
    from aiida import orm
    from aiida.common.exceptions import ConfigurationError, MultipleObjectsError, NotExistent

    try:
        return orm.load_node(identifier)
    except ConfigurationError:
        fail('no AiiDA profile: run `siox setup` (or pass -p/--profile)')
    except (NotExistent, MultipleObjectsError, ValueError) as exception:
        fail(f'no node {identifier!r}: {exception}')


def load_workflow_or_fail(identifier: str):
    """A workchain node by pk or UUID, or exit with a clear message."""
    from aiida import orm

    node = load_node_or_fail(identifier)
    if not isinstance(node, orm.WorkflowNode):
        fail(f'<{node.pk}> is a {type(node).__name__}, not a workchain')
    return node
