"""Registered sources: the registry, the data directory, fetch and verify, one adapter module per
publisher file, and the China reference tables."""

from shrinkwatch.datasets.registry import (
    DEFAULT_STANDARD,
    ENV_VAR,
    REGISTRY,
    DataFile,
    Dataset,
    checksum_state,
    data_dir_candidates,
    dataset_paths,
    fetch,
    get_dataset,
    list_datasets,
    load,
    recorded_sha256,
    register,
    resolve_data_dir,
    sha256_of,
    standard_for,
    verify,
)

__all__ = [
    "DataFile", "Dataset", "REGISTRY", "ENV_VAR", "register", "get_dataset", "list_datasets",
    "resolve_data_dir", "data_dir_candidates", "dataset_paths", "verify", "fetch", "load", "sha256_of",
    "DEFAULT_STANDARD", "standard_for", "checksum_state", "recorded_sha256",
]
