"""The history store: canonical files, the lock and atomic commit, the merge plan, the manifest and verify."""

from .files import canonical_csv, sha256_bytes, write_atomic
from .folder import MergeResult, Store, registries_of
from .manifest import init_store

__all__ = ["MergeResult", "Store", "canonical_csv", "init_store", "registries_of", "sha256_bytes", "write_atomic"]
