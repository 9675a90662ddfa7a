"""YAML protocols (``fast``, ``moderate``, ``paper``) and the builder helpers that read them."""
