"""The ``siox`` command (verdi-style): the root group and its command modules.

The commands only parse arguments and print; the work is done by the library (``aiida_siox.setup``,
``aiida_siox.workflows``, ``aiida_siox.provenance``, ...).
"""

from aiida_siox.cli import cmd_dataset, cmd_inspect, cmd_predict, cmd_reference, cmd_setup, cmd_workflows  # noqa: F401  (they register)
from aiida_siox.cli.cmd_predict import predict_command
from aiida_siox.cli.root import siox

__all__ = ['predict_command', 'siox']
