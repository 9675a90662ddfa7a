# Two entry points (see README): `make demo` sets everything up and runs the demo; `make test`
# sets everything up and runs the full test suite. Both are safe to run again.
VENV ?= .venv
# pytest-xdist workers of `make test`: two overlap one test's waits (polls, daemon starts, the fault tests'
# outages) with another's jobs on 2 cores (tests/conftest.py groups what must run together). Three were no
# faster on 2 cores (session 23: 15:35 vs 15:54; the CPU was 2 % idle and time-budgeted tests took more jobs).
TEST_WORKERS ?= 2
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
# graphviz: `siox provenance --graph` draws the provenance with its `dot`; rsync: `siox backup`
# (aiida's `verdi storage backup` copies with it)
# libopenblas0-serial: Debian's pw.x and xspectra.x link the reference BLAS/LAPACK unless an optimised one is
# installed (alternatives); with OpenBLAS the demo's 24-atom core-hole SCF ran in 9.3 s instead of 20.8 s (2 ranks,
# same energy to 1e-8 Ry), an xspectra.x run in 2.5 s instead of 3.3 s. The serial build: the programs run one
# MPI rank per core, and threads of a pthread build would oversubscribe them.
DEBIAN_PACKAGES := quantum-espresso lammps lammps-data openmpi-bin python3-venv graphviz rsync libopenblas0-serial
EXECUTABLES := pw.x xspectra.x pp.x ld1.x lmp mpirun dot rsync

# The test suite's SLURM group also needs a single-node cluster (setup_profiles/cluster.sh starts it).
CLUSTER_PACKAGES := slurm-wlm munge openssh-server

.PHONY: demo test system-deps cluster-deps services venv lint

system-deps:
	@if ! command -v $(EXECUTABLES) >/dev/null 2>&1 || [ ! -f /usr/share/lammps/potentials/SiO.tersoff ] \
		|| ! dpkg -s libopenblas0-serial >/dev/null 2>&1; then \
		echo "Installing Debian packages: $(DEBIAN_PACKAGES)"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(DEBIAN_PACKAGES); \
	else echo "Debian packages present: $(EXECUTABLES)"; fi

cluster-deps:
	@if ! command -v sbatch slurmctld munged >/dev/null 2>&1 || [ ! -x /usr/sbin/sshd ]; then \
		echo "Installing Debian packages: $(CLUSTER_PACKAGES)"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(CLUSTER_PACKAGES); \
	else echo "Debian packages present: $(CLUSTER_PACKAGES)"; fi

# The production-profile and broker tests need PostgreSQL and RabbitMQ: installed and started when
# absent or stopped, left alone when they already answer.
services:
	@setup_profiles/services.sh start

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	# CPU wheel of PyTorch first, so that the package's `torch>=2.2` does not pull a CUDA build.
	$(VENV)/bin/pip install -q torch==2.13.0
	$(VENV)/bin/pip install -q -e '.[dev]'
	# baderkit's numba kernels compiled now, into its cache, not in the first set-up, test or Bader job (~2 min once)
	$(VENV)/bin/python -m aiida_siox.setup.bader_warmup
	touch $@

venv: $(VENV)/.installed

demo: system-deps venv
	$(VENV)/bin/siox demo

test: system-deps cluster-deps services venv
	$(VENV)/bin/pytest -v -ra --durations=15 -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder

lint: venv
	$(VENV)/bin/ruff format --check . && $(VENV)/bin/ruff check .
