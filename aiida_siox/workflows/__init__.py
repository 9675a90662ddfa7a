"""WorkChains of the pipeline."""

from aiida_siox.setup.engine_patches import install as _install_engine_patches

# The daemon worker that runs these workchains gets this plugin's engine changes (see that module).
_install_engine_patches()
