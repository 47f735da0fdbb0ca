"""Publish the BI copy: a separate, read-only, versioned DuckDB file (+ Parquet) for BI tools.

DuckDB allows one writing process per file, so a BI tool must never hold the live
warehouse. :func:`publish_bi_copy` copies the BI-facing tables (every ``bi.*`` table and
the ML outputs in :data:`ML_TABLES` that exist) into a NEW file and then swaps a
symlink, so readers always see one complete version:

```
<bi_dir>/
  ecom_bi.duckdb -> current/ecom_bi.duckdb static symlink: THE path readers open
  manifest.json  -> current/manifest.json  static symlink
  parquet        -> current/parquet        static symlink (one file per table)
  current        -> versions/000042-20250101T120000Z   swapped atomically (os.replace)
  versions/
    000041-.../  ecom_bi.duckdb  manifest.json  parquet/<schema>/<table>.parquet
    000042-.../  ...
```

Atomicity: a version is built under ``versions/<name>.building`` (in DuckDB 1.0's storage
format, see :data:`DEFAULT_STORAGE_VERSION`), verified by reopening it read-only, made
read-only on disk (0444), fsynced, renamed to ``versions/<name>`` and only then published by
replacing the ``current`` symlink with ``os.replace`` (one ``rename(2)``). A path lookup
of ``ecom_bi.duckdb`` resolves either the old or the new version, never a half-built file; a
reader that already has the old file open keeps reading the old inode. The last
``keep`` versions are kept (at least 2: a reader that resolved the link just before a swap
and has not yet taken its DuckDB lock still finds the previous version); older ones are
deleted unless a reader still holds a DuckDB lock on them (seen in ``/proc/locks`` on
Linux), in which case they wait for a later publish. Only DuckDB locks count: a Parquet
reader or a tool pointed at a ``versions/<name>`` folder holds no lock and is not protected.

Governance: column names are checked against :data:`DENYLIST` (names, e-mails, phone
numbers, postal addresses, exact birth dates, IP addresses, payment and government
identifiers); one match fails the publish before anything is swapped. With a
``pseudonym_key``, every customer identifier column (:data:`ID_COLUMN_PATTERN`:
``customer_id``, ``user_id``, ``*_customer_id``, ``*_user_id``) is replaced by
``HMAC-SHA256(key, id)`` truncated to a positive 63-bit BIGINT, the same mapping in every
table, so joins between tables still work. Without a key ids are copied as they are
(the warehouse's customer numbers are already opaque shop numbers; set the key
whenever the copy leaves the team that may see them).

No Dagster imports: the Dagster asset in ``ecom_platform/defs/bi.py`` is a thin wrapper.
"""

from ecom_platform.lib.publish.build import publish_bi_copy, relative_source_label
from ecom_platform.lib.publish.common import (
    BI_SCHEMA,
    CURRENT_LINK,
    DB_NAME,
    DEFAULT_KEEP,
    DEFAULT_STORAGE_VERSION,
    MANIFEST_NAME,
    META_SCHEMA,
    MIN_KEEP,
    ML_SCHEMA,
    ML_TABLES,
    PARQUET_DIR,
    VERSIONS_DIR,
    PersonalDataError,
    PublishError,
)
from ecom_platform.lib.publish.privacy import (
    DENYLIST,
    ID_COLUMN_PATTERN,
    check_denylist,
    denylisted,
    key_fingerprint,
    pseudonym,
)
from ecom_platform.lib.publish.versions import current_version, list_versions, prune_versions, stable_path

__all__ = [
    "BI_SCHEMA",
    "CURRENT_LINK",
    "DB_NAME",
    "DEFAULT_KEEP",
    "DEFAULT_STORAGE_VERSION",
    "DENYLIST",
    "ID_COLUMN_PATTERN",
    "MANIFEST_NAME",
    "META_SCHEMA",
    "MIN_KEEP",
    "ML_SCHEMA",
    "ML_TABLES",
    "PARQUET_DIR",
    "VERSIONS_DIR",
    "PersonalDataError",
    "PublishError",
    "check_denylist",
    "current_version",
    "denylisted",
    "key_fingerprint",
    "list_versions",
    "prune_versions",
    "pseudonym",
    "publish_bi_copy",
    "relative_source_label",
    "stable_path",
]
