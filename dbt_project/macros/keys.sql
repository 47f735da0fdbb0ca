{#-
    Durable surrogate keys.

    stable_key(expr): a positive BIGINT derived from md5 of the natural key (60 bits), so the
    same natural key always gets the same key across rebuilds, environments and DuckDB
    versions (unlike hash(), whose output may change between versions). This keeps facts
    loadable incrementally: a fact row's foreign key can be computed without a lookup.
    NULL in gives NULL out; callers coalesce to -1 (the "unknown" member) where needed.
    The `unique` tests on every key would catch a collision.

    date_key(expr): the yyyymmdd INTEGER of a date or timestamp.
-#}
{% macro stable_key(expr) -%}
    {{ md5_bigint('cast(' ~ expr ~ ' as string)') }}
{%- endmacro %}

{#- yyyy * 10000 + mm * 100 + dd: the same integer as strftime('%Y%m%d') without formatting
    and re-parsing a string per row. -#}
{% macro date_key(expr) -%}
    cast(year(cast({{ expr }} as date)) * 10000 + month(cast({{ expr }} as date)) * 100 + day(cast({{ expr }} as date)) as integer)
{%- endmacro %}

{#- The key of the "unknown" member of every dimension. -#}
{% macro unknown_key() -%}
    cast(-1 as bigint)
{%- endmacro %}
