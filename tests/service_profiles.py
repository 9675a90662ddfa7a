"""Isolated AiiDA profiles driven through the CLI, as a user does, and their removal (shared by the service tests)."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
from collections.abc import Callable

BIN = pathlib.Path(sys.executable).parent


def cli_runner(config_dir: pathlib.Path) -> Callable[..., subprocess.CompletedProcess]:
    """``sh(*args, check=True, timeout=600)``: run a command against the AiiDA config in ``config_dir``.

    With ``check`` a non-zero exit raises an AssertionError that shows the command's stdout and stderr.
    """
    env = {**os.environ, 'AIIDA_PATH': str(config_dir), 'PATH': f'{BIN}{os.pathsep}{os.environ["PATH"]}'}

    def sh(*args, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
        result = subprocess.run([str(a) for a in args], env=env, capture_output=True, text=True, timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f'{" ".join(map(str, args))} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}')
        return result

    return sh


def delete_production_profile(sh: Callable[..., subprocess.CompletedProcess], name: str) -> None:
    """Stop the profile's daemon, delete the profile, then its PostgreSQL database and user (left by a failed delete)."""
    import psycopg

    sh(BIN / 'verdi', '-p', name, 'daemon', 'stop', check=False)
    sh(BIN / 'verdi', 'profile', 'delete', '--force', '--delete-data', name, check=False)
    with psycopg.connect('host=127.0.0.1 port=5432 user=postgres dbname=postgres', autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'DROP USER IF EXISTS "{name.replace("-", "_")}"')
