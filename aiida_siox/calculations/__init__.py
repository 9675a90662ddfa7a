"""CalcJobs we own and calcfunctions that transform data (thin AiiDA glue over ``analysis/``)."""

from aiida_siox.setup.upload_resume import install as _install_upload_resume

# a worker that resumes only our jobs (not their workchains) also links the remote_folder of a job
# uploaded just before a daemon crash (see that module)
_install_upload_resume()
