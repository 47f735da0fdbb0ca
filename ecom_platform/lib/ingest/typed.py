"""Typing a landing file's rows: header mapping, typed and null-token SQL, range rules, decimal commas."""

from __future__ import annotations

from ecom_platform.lib.landing_read import (
    IngestError,
    _q,
    _sql_str,
)
from ecom_platform.lib.schemas import (
    DEFAULT_RANGES,
    EVENT_TYPES,
    Ranges,
    Source,
    normalise_header,
)

NULL_TOKENS = ("", "nan", "none", "null", "<na>", "nat")


def _typed_expr(col_sql: str, sql_type: str) -> str:
    """SQL that types a VARCHAR column; NULL when it is missing or does not parse."""
    v = f"NULLIF(TRIM({col_sql}), '')"
    t = sql_type.upper()
    if t == "VARCHAR":
        return v
    if t in ("INTEGER", "BIGINT"):
        # Whole numbers only: TRY_CAST('12.5' AS BIGINT) would round to 13. '17850.0'
        # (spreadsheets write ids as floats) is accepted, without going through DOUBLE,
        # so 19-digit ids keep every digit.
        return (
            f"CASE WHEN regexp_full_match({v}, '[+-]?[0-9]+') THEN TRY_CAST({v} AS {t}) "
            f"WHEN regexp_full_match({v}, '[+-]?[0-9]+\\.0+') THEN TRY_CAST(split_part({v}, '.', 1) AS {t}) END"
        )
    if t.startswith("DECIMAL") or t == "DOUBLE":
        return f"COALESCE(TRY_CAST({v} AS {t}), TRY_CAST(TRY_CAST({v} AS DOUBLE) AS {t}))"
    if t == "TIMESTAMP":
        s = f"regexp_replace({v}, '\\s*(UTC|Z)$', '')"
        return (
            f"COALESCE(TRY_CAST({s} AS TIMESTAMP), TRY_STRPTIME({s}, '%m/%d/%Y %H:%M'), "
            f"TRY_STRPTIME({s}, '%m/%d/%Y %H:%M:%S'), TRY_STRPTIME({s}, '%d.%m.%Y %H:%M'), "
            f"TRY_STRPTIME({s}, '%d.%m.%Y %H:%M:%S'), TRY_STRPTIME({s}, '%d.%m.%Y'))"
        )
    if t == "DATE":
        return (
            f"COALESCE(TRY_CAST({v} AS DATE), TRY_CAST(TRY_CAST({v} AS TIMESTAMP) AS DATE), "
            f"TRY_CAST(TRY_STRPTIME({v}, '%m/%d/%Y') AS DATE), TRY_CAST(TRY_STRPTIME({v}, '%d.%m.%Y') AS DATE))"
        )
    raise ValueError(f"no typing rule for {sql_type}")


def _is_null_token(col_sql: str) -> str:
    tokens = ", ".join(_sql_str(t) for t in NULL_TOKENS)
    return f"({col_sql} IS NULL OR lower(trim({col_sql})) IN ({tokens}))"


# The values most files hold, typed without the general rules' TRIM and regexes: a bare
# integer, a timestamp DuckDB reads as it is. Any other value takes the general rule, so
# the result is the same; at scale 10 this halved the typing of 31.7M events.
_FAST_TYPED = {
    "INTEGER": "CASE WHEN regexp_full_match({c}, '[+-]?[0-9]+') THEN TRY_CAST({c} AS INTEGER) ELSE {slow} END",
    "BIGINT": "CASE WHEN regexp_full_match({c}, '[+-]?[0-9]+') THEN TRY_CAST({c} AS BIGINT) ELSE {slow} END",
    "TIMESTAMP": "CASE WHEN TRY_CAST({c} AS TIMESTAMP) IS NOT NULL THEN TRY_CAST({c} AS TIMESTAMP) ELSE {slow} END",
}


# The longest NULL token, in characters: a longer value is not one.
_MAX_TOKEN_LEN = max(len(t) for t in NULL_TOKENS)


def _typed_and_null(col_sql: str, sql_type: str) -> tuple[str, str]:
    """(typed value, is-a-NULL-token) expressions for one column, the second reading the
    first (``{t}``) so a value is trimmed once: for VARCHAR the typed value is the trimmed
    text; for other types a value that types is no NULL token (no token types as a number,
    date or timestamp: test_ingest checks it), so only the values that do not type are
    tested against the tokens. Both give what ``_typed_expr`` and ``_is_null_token`` give."""
    slow = _typed_expr(col_sql, sql_type)
    t = sql_type.upper()
    typed = _FAST_TYPED[t].format(c=col_sql, slow=slow) if t in _FAST_TYPED else slow
    tokens = ", ".join(_sql_str(tok) for tok in NULL_TOKENS)
    # CASE, not AND / OR: DuckDB evaluates a CASE branch only for the rows that reach it
    if t == "VARCHAR":
        null = (
            f"CASE WHEN {{t}} IS NULL THEN true WHEN length({{t}}) > {_MAX_TOKEN_LEN} THEN false "
            f"ELSE lower({{t}}) IN ({tokens}) END"
        )
    else:
        null = f"CASE WHEN {{t}} IS NOT NULL THEN false ELSE {_is_null_token(col_sql)} END"
    return typed, null


def map_header(source: Source, header: list[str], rel: str) -> dict[str, str]:
    """Canonical column -> header name in the file. Raises IngestError if required ones are missing."""
    by_norm: dict[str, str] = {}
    for h in header:
        by_norm.setdefault(normalise_header(h), h)
    mapping: dict[str, str] = {}
    for col in source.columns:
        for alias in (normalise_header(col.name),) + col.aliases:
            if alias in by_norm:
                mapping[col.name] = by_norm[alias]
                break
    missing = [c.name for c in source.columns if c.required and c.name not in mapping]
    if missing:
        shown = [h for h in header if not h.startswith("_")]
        raise IngestError(
            f"{rel}: missing required column(s) {', '.join(missing)} for source '{source.name}'; "
            f"header found: {', '.join(shown) or '(none)'}"
        )
    return mapping


def _range_rules(source: Source, ranges: Ranges) -> dict[str, tuple[str, str]]:
    """``{column: (condition on the typed value {t}, what the reason says)}`` for the columns
    with a sane window (:class:`~ecom_platform.lib.schemas.Ranges`)."""
    out = {}
    if source.name == "transactions":
        out["quantity"] = (
            f"abs({{t}}) > {int(ranges.max_quantity)}",
            f"is outside the allowed range (absolute value at most {int(ranges.max_quantity):,}, ECOM_MAX_QUANTITY)",
        )
    if source.name in ("transactions", "events"):
        out["price"] = (
            f"abs({{t}}) > {float(ranges.max_price)!r}",
            f"is outside the allowed range (absolute value at most {ranges.max_price:,.0f}, ECOM_MAX_PRICE)",
        )
        date_col = source.date_column
        lo = _sql_str(str(ranges.min_date))
        out[date_col] = (
            f"({{t}} < CAST({lo} AS TIMESTAMP) OR {{t}} >= current_date + {int(ranges.max_days_ahead) + 1})",
            f"is outside the allowed dates ({ranges.min_date} to {int(ranges.max_days_ahead)} days after today, "
            "ECOM_MIN_DATE / ECOM_MAX_DAYS_AHEAD)",
        )
    return out


# A number with a decimal comma ("2,55", "1.234,50") and one with a decimal point ("2.55",
# "1,234.50"); three digits after the separator ("1,234") could be either and count for neither.
_COMMA_DECIMAL = r"[+-]?([0-9]{1,3}(\.[0-9]{3})+|[0-9]*),([0-9]{1,2}|[0-9]{4,})"


_POINT_DECIMAL = r"[+-]?([0-9]{1,3}(,[0-9]{3})+|[0-9]*)\.([0-9]{1,2}|[0-9]{4,})"


def _is_decimal(sql_type: str) -> bool:
    return sql_type.upper().startswith("DECIMAL") or sql_type.upper() == "DOUBLE"


def decimal_comma(con, source: Source, mapping: dict[str, str], land: str = "_land") -> bool:
    """Whether the file writes its decimal numbers with a decimal comma (European
    spreadsheets: ``2,55``, ``1.234,50``): some decimal column value has the comma form and
    none has the point form. Reads only files with a comma in a decimal column."""
    cols = [_q(mapping[c.name]) for c in source.columns if c.name in mapping and _is_decimal(c.sql_type)]
    if not cols:
        return False
    has_comma = " OR ".join(f"contains({c}, ',')" for c in cols)
    if not con.execute(f"SELECT EXISTS (SELECT 1 FROM {land} WHERE {has_comma})").fetchone()[0]:
        return False
    n_comma, n_point = con.execute(
        "SELECT "
        + ", ".join(
            " + ".join(f"count(*) FILTER (WHERE regexp_full_match(trim({c}), {_sql_str(rx)}))" for c in cols)
            for rx in (_COMMA_DECIMAL, _POINT_DECIMAL)
        )
        + f" FROM {land}"
    ).fetchone()
    return n_comma > 0 and n_point == 0


def _typed_select(
    source: Source,
    mapping: dict[str, str],
    land: str,
    sheet: str,
    row_number: str,
    ranges: Ranges = DEFAULT_RANGES,
    comma_decimals: bool = False,
) -> str:
    """SELECT over ``land`` giving the typed columns, ``_sheet``, ``_row_number``, ``_reason``
    (NULL for a good record) and ``_raw`` (the record as JSON text, for quarantined rows only).

    Each column is typed once per row in ``_x`` and tested for a null token in ``_n`` (from
    its typed value, see :func:`_typed_and_null`); the reasons reuse those values (typing
    them again in every reason made this step twice as slow).
    """
    inner, nulls, typed, reasons, suspects = [], [], [], [], []
    rules = _range_rules(source, ranges)
    null_of: dict[str, str] = {}
    typed_of: dict[str, str] = {}
    for i, col in enumerate(source.columns):
        if col.name not in mapping:
            typed.append(f"CAST(NULL AS {col.sql_type}) AS {_q(col.name)}")
            continue
        raw = _q(mapping[col.name])
        t, n = _q(f"__ecom_t{i}"), _q(f"__ecom_n{i}")
        null_of[col.name], typed_of[col.name] = n, t
        # in a decimal-comma file "1.234,50" is typed as 1234.50 and a quantity "1.000" as
        # 1000, not 1 (the reason keeps the text)
        numeric = _is_decimal(col.sql_type) or col.sql_type.upper() in ("INTEGER", "BIGINT")
        value = f"replace(replace({raw}, '.', ''), ',', '.')" if comma_decimals and numeric else raw
        typed_sql, null_sql = _typed_and_null(value, col.sql_type)
        inner.append(f"{typed_sql} AS {t}")
        nulls.append(f"{null_sql.format(t=t)} AS {n}")
        typed.append(f"{t} AS {_q(col.name)}")
        label = col.name
        if col.required:
            reasons.append(f"CASE WHEN {n} THEN '{label} is missing' END")
        bad_value = (
            f"'{label} ' || {_sql_str(chr(39))} || left({raw}, 60) || {_sql_str(chr(39))} "
            f"|| ' is not a valid {col.sql_type.lower()}'"
        )
        reasons.append(f"CASE WHEN NOT {n} AND {t} IS NULL THEN {bad_value} END")
        suspects += [n, f"{t} IS NULL"]
        if col.name in rules:
            cond, says = rules[col.name]
            out_of_range = f"({cond.format(t=t)})"
            reasons.append(
                f"CASE WHEN {out_of_range} THEN '{label} ' || CAST({t} AS VARCHAR) || {_sql_str(' ' + says)} END"
            )
            suspects.append(f"coalesce({out_of_range}, false)")
    if source.name == "events" and "event_type" in mapping:
        raw = _q(mapping["event_type"])
        allowed = ", ".join(_sql_str(t) for t in EVENT_TYPES)
        unknown_type = f"NOT {null_of['event_type']} AND lower({typed_of['event_type']}) NOT IN ({allowed})"
        suspects.append(f"({unknown_type})")
        reasons.append(
            f"CASE WHEN {unknown_type} "
            f"THEN 'event_type ' || {_sql_str(chr(39))} || left({raw}, 40) || {_sql_str(chr(39))} "
            f"|| ' is not one of {', '.join(EVENT_TYPES)}' END"
        )
    # the reasons are spelled out only for the rows with a missing or untyped value (a
    # good row has none, and building its reasons cost as much as typing it)
    reason = (
        f"CASE WHEN {' OR '.join(suspects)} THEN NULLIF(concat_ws('; ', {', '.join(reasons)}), '') END"
        if reasons
        else "CAST(NULL AS VARCHAR)"
    )
    pairs = ", ".join(f"{_sql_str(h)}, {_q(h)}" for h in mapping.values())
    return f"""
        WITH _x AS (
            SELECT *, {sheet} AS __ecom_sheet, {row_number} AS __ecom_row, {", ".join(inner) or "NULL AS __ecom_none"}
            FROM {land}
        ),
        _n AS (SELECT *, {", ".join(nulls) or "NULL AS __ecom_nonull"} FROM _x),
        _y AS (SELECT *, {reason} AS __ecom_reason FROM _n)
        SELECT {", ".join(typed)},
               __ecom_sheet AS _sheet,
               __ecom_row AS _row_number,
               __ecom_reason AS _reason,
               CASE WHEN __ecom_reason IS NOT NULL THEN CAST(json_object({pairs}) AS VARCHAR) END AS _raw
        FROM _y
    """
