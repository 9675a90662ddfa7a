"""YAML protocols (``fast``, ``moderate``, ``paper``, ``reference``) and the builder helpers that read them."""

#: The protocols every workchain's YAML file defines: toy, workstation, published, and the reference study's.
PROTOCOLS = ('fast', 'moderate', 'paper', 'reference')
