"""The object store asked once per file read, and once per node hash, not once per file and again per read.

aiida's ``disk-objectstore`` backend checks that an object exists before each use, and each check
opens the object store's own index database (3.5 ms per check measured on this machine, session 25):

- a read (``open``: an array, a retrieved file, a pseudopotential) checks, then opens the object,
  which looks it up again and fails the same way when it is missing;
- a node's hash (computed for caching when it is stored, and for every input when a process is
  stored) checks each of its files in turn: in a store whose keys are SHA-256 hashes the key is
  the file's hash, and the check is all there is. Storing the 15-array trajectory of a site job
  spent 53 of its 84 ms there.

Here a read opens the object straight away (a missing one still raises ``FileNotFoundError``), and
a hash checks all of a node's files with one ``has_objects`` call (a missing one still raises
``FileNotFoundError``; the hash is the same). Other backends, or keys that are not SHA-256, keep
aiida's own per-file methods.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, BinaryIO


def object_hashes(backend, keys: list[str]) -> list[str]:
    """The SHA-256 hashes of the objects ``keys`` of ``backend``; ``FileNotFoundError`` if one is not there."""
    from aiida.repository.backend.disk_object_store import DiskObjectStoreRepositoryBackend

    # other backends (a sandbox, an archive) answer from the key without a check: aiida's own per-file method
    if not keys or not isinstance(backend, DiskObjectStoreRepositoryBackend) or backend.key_format != 'sha256':
        return [backend.get_object_hash(key) for key in keys]
    for key, present in zip(keys, backend.has_objects(keys), strict=True):
        if not present:
            raise FileNotFoundError(key)
    return list(keys)  # a SHA-256-keyed store's key is the object's hash


def install() -> None:
    """Replace ``Repository.hash`` and the disk-objectstore backend's ``open`` as described above; once."""
    from aiida.common.hashing import make_hash
    from aiida.repository.backend.disk_object_store import DiskObjectStoreRepositoryBackend
    from aiida.repository.repository import Repository
    from disk_objectstore.exceptions import NotExistent

    if getattr(Repository.hash, 'checks_objects_together', False):
        return

    def repository_hash(self: Repository) -> str:
        """Generate a hash of the repository's contents (aiida's, with one existence check for all objects)."""
        objects: dict[str, Any] = {}
        keys: dict[str, str] = {}
        for root, dirnames, filenames in self.walk():
            objects['__dirnames__'] = dirnames
            for filename in filenames:
                key = self.get_file(root / filename).key
                assert key is not None, 'Expected FileType.File to have a key'
                objects[str(root / filename)] = keys[str(root / filename)] = key
        objects.update(zip(keys, object_hashes(self.backend, list(keys.values())), strict=True))
        return make_hash(objects)

    @contextlib.contextmanager
    def open_object(self: DiskObjectStoreRepositoryBackend, key: str) -> Iterator[BinaryIO]:
        """A byte stream of the object ``key`` (aiida's, without the separate existence query first)."""
        with self._container as container, contextlib.ExitStack() as stack:
            try:
                handle = stack.enter_context(container.get_object_stream(key))
            except NotExistent as exception:
                raise FileNotFoundError(f'object with key `{key}` does not exist.') from exception
            yield handle

    repository_hash.checks_objects_together = True
    repository_hash.aiida_hash = Repository.hash  # aiida's own, for comparison
    Repository.hash = repository_hash
    DiskObjectStoreRepositoryBackend.open = open_object
