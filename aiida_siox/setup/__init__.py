"""Setting up what the pipeline runs on: profiles, computers, codes (localhost and SLURM clusters), daemon recovery.

The YAML it reads ships with the package (``configs/``), so ``siox setup`` works from an installed wheel.
"""
