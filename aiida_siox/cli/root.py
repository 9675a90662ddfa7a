"""The root ``siox`` command group; each ``cmd_*`` module adds its commands to it."""

import click

from aiida_siox.cli.params import SioxCommandGroup


@click.group('siox', cls=SioxCommandGroup, context_settings={'help_option_names': ['-h', '--help']})
def siox():
    """aiida-siox: ML XANES pipeline for amorphous SiOx on AiiDA."""
