"""aiida-siox: provenance-tracked ML XANES pipeline for amorphous silicon suboxides (SiOx)."""

__version__ = '0.1.0'

from aiida_siox.setup.sqlite_commit_sync import install as _install_sqlite_commit_sync

# every SQLite connection of a process that loads the plugin commits without an fsync each (see that module)
_install_sqlite_commit_sync()
