"""Governance of the BI copy: the personal-data denylist and the customer-id pseudonyms."""

from __future__ import annotations

import hashlib
import hmac
import re
from decimal import Decimal

import duckdb

from ecom_platform.lib.publish.common import PersonalDataError, PublishError, _q, _Table

# Customer identifiers: pseudonymised when a key is given.
ID_COLUMN_PATTERN = re.compile(r"^(?:.*_)?(?:customer_id|user_id)$")


def id_columns(columns: list[tuple[str, str]]) -> list[str]:
    """The customer identifier columns among ``(name, type)`` columns."""
    return [c for c, _ in columns if ID_COLUMN_PATTERN.match(c.lower())]


# Direct personal data: a column whose (lower-cased) name matches fails the publish.
DENYLIST: tuple[tuple[str, str], ...] = (
    (r"(^|_)e?_?mail(_?address)?$|email", "e-mail address"),
    (
        r"^name$|(^|_)(first|last|full|given|family|middle|sur|customer|contact|person|user)_?name$|^surname$",
        "person name",
    ),
    (
        r"(^|_)(phone|phone_number|phone_no|telephone|telephone_number|tel|tel_no|fax)($|_)|(^|_)(mobile|mobile_number|mobile_no|mobile_phone)$",
        "phone number",
    ),
    (
        r"(^|_)(street|address|address_line\d*|postcode|post_code|postal_code|zip|zip_code|house_number)($|_)",
        "postal address",
    ),
    (r"birth_?date|date_of_birth|(^|_)dob($|_)|birthday", "exact birth date"),
    (r"(^|_)ip($|_)|ip_?address", "IP address"),
    (r"iban|card_?number|credit_?card|(^|_)pan($|_)|bank_?account|account_number", "payment identifier"),
    (
        r"passport|(^|_)ssn($|_)|national_id|national_insurance|(^|_)nino($|_)|tax_id|social_security",
        "government identifier",
    ),
    (r"password|passwd|secret|token", "credential"),
)


_DENY = [(re.compile(p), why) for p, why in DENYLIST]


_INTEGER_TYPES = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
}


_NUMERIC_PREFIXES = ("DOUBLE", "FLOAT", "REAL", "DECIMAL", "NUMERIC")


def denylisted(column: str) -> str | None:
    """The reason a column name is refused, or None."""
    norm = re.sub(r"[^a-z0-9]+", "_", column.strip().lower()).strip("_")
    for rx, why in _DENY:
        if rx.search(norm):
            return why
    return None


def check_denylist(tables: dict[str, list[str]]) -> None:
    """Raise :class:`PersonalDataError` naming every ``schema.table.column`` on the denylist."""
    hits = []
    for qualified, cols in tables.items():
        for c in cols:
            why = denylisted(c)
            if why:
                hits.append(f"{qualified}.{c} ({why})")
    if hits:
        raise PersonalDataError(
            "publishing refused: personal data in the BI copy: "
            + ", ".join(hits)
            + ". The BI copy must not expose names, e-mails, phone numbers, addresses, exact "
            "birth dates or other direct identifiers: drop or mask the column in the model "
            "that produces it (dbt bi model or ML asset)."
        )


def pseudonym(value: object, key: str | bytes) -> int:
    """The pseudonym of one id: HMAC-SHA256(key, canonical text), first 8 bytes, 63 bits.

    Canonical text: integers (and integral floats/decimals) in decimal, other values
    as trimmed text, so ``12345``, ``12345.0`` and ``"12345"`` map alike.
    """
    return _hmac63(_key_bytes(key), _canonical(value))


def key_fingerprint(key: str | bytes) -> str:
    """A short public fingerprint of the key: tells whether two versions share a mapping."""
    return hmac.new(_key_bytes(key), b"ecom-bi-pseudonym-key-fingerprint", hashlib.sha256).hexdigest()[:12]


def _key_bytes(key: str | bytes) -> bytes:
    b = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if not b:
        raise ValueError("pseudonym key is empty")
    return b


def _canonical(value: object) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return str(int(value))
    return str(value).strip()


def _hmac63(key: bytes, text: str) -> int:
    digest = hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF


def _canonical_sql(col: str, dtype: str, alias: str = "t") -> str:
    """SQL for the canonical text of an id column (must agree with :func:`_canonical`)."""
    c = f"{alias}.{_q(col)}"
    t = dtype.upper()
    if t in _INTEGER_TYPES or t == "BOOLEAN":
        return f"CAST(CAST({c} AS HUGEINT) AS VARCHAR)"
    if t.startswith(_NUMERIC_PREFIXES):
        return f"CASE WHEN {c} = trunc({c}) THEN CAST(CAST({c} AS HUGEINT) AS VARCHAR) ELSE CAST({c} AS VARCHAR) END"
    return f"trim(CAST({c} AS VARCHAR))"


def _is_numeric(dtype: str) -> bool:
    t = dtype.upper()
    return t in _INTEGER_TYPES or t.startswith(_NUMERIC_PREFIXES)


def _build_pseudonym_map(con: duckdb.DuckDBPyConnection, src: str, tables: list[_Table], key: bytes) -> int:
    """TEMP table ``_pseudo_map(src, pid)`` over every id value of every table (never persisted)."""
    import pyarrow as pa

    parts = [
        f"SELECT {_canonical_sql(c, dict(t.columns)[c])} AS src FROM {_q(src)}.{_q(t.schema)}.{_q(t.name)} AS t "
        f"WHERE t.{_q(c)} IS NOT NULL"
        for t in tables
        for c in t.id_columns
    ]
    if not parts:
        con.execute("CREATE TEMP TABLE _pseudo_map (src VARCHAR, pid BIGINT)")
        return 0
    srcs = [r[0] for r in con.execute(" UNION ".join(parts)).fetchall()]
    pids = [_hmac63(key, s) for s in srcs]
    if len(set(pids)) != len(pids):  # ~n²/2^64: practically never, but never silently merge two people
        raise PublishError("pseudonym collision: two customer ids map to the same pseudonym; use another key")
    mapping = pa.table({"src": pa.array(srcs, pa.string()), "pid": pa.array(pids, pa.int64())})
    con.register("_pseudo_map_arrow", mapping)
    try:
        con.execute("CREATE TEMP TABLE _pseudo_map AS SELECT src, pid FROM _pseudo_map_arrow")
    finally:
        con.unregister("_pseudo_map_arrow")
    return len(srcs)
