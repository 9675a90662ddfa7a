"""CalcJobs we own and calcfunctions that transform data (thin AiiDA glue over ``analysis/``)."""

from aiida_siox.setup.engine_patches import install as _install_engine_patches

# a worker that resumes only our jobs (not their workchains) gets this plugin's engine changes too (see that module)
_install_engine_patches()
