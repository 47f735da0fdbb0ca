{#-
    Engine-specific SQL, one place per construct (issue #20: one dbt project, DuckDB and Spark).
    Each macro dispatches on the adapter: default__ is the DuckDB form the project always had
    (so the DuckDB build renders the same SQL as before), spark__ the Spark SQL (4.x) form.
    Where dbt itself has a cross-database macro (dbt.datediff, dbt.type_string, ...), models
    call that instead; these cover what dbt does not.
-#}

{#- CTE hint: DuckDB's `AS NOT MATERIALIZED` (keeps a multi-consumer CTE inlined); Spark
    always inlines CTEs and has no such syntax. Usage: `name as {{ cte_not_materialized() }} (` -#}
{% macro cte_not_materialized() -%}
    {{ return(adapter.dispatch('cte_not_materialized', 'ecom_platform')()) }}
{%- endmacro %}
{% macro default__cte_not_materialized() -%} not materialized {%- endmacro %}
{% macro spark__cte_not_materialized() -%} {%- endmacro %}

{#- Integer division truncating toward zero: DuckDB `//`, Spark `div` (both truncate). -#}
{% macro int_div(a, b) -%}
    {{ return(adapter.dispatch('int_div', 'ecom_platform')(a, b)) }}
{%- endmacro %}
{% macro default__int_div(a, b) -%} (({{ a }}) // ({{ b }})) {%- endmacro %}
{% macro spark__int_div(a, b) -%} (({{ a }}) div ({{ b }})) {%- endmacro %}

{#- ISO day of week, 1 = Monday ... 7 = Sunday. (Spark's dayofweek() is 1 = Sunday and
    DuckDB's dayofweek() is 0 = Sunday: neither is ISO.) -#}
{% macro iso_day_of_week(d) -%}
    {{ return(adapter.dispatch('iso_day_of_week', 'ecom_platform')(d)) }}
{%- endmacro %}
{% macro default__iso_day_of_week(d) -%} isodow({{ d }}) {%- endmacro %}
{% macro spark__iso_day_of_week(d) -%} extract(DAYOFWEEK_ISO from {{ d }}) {%- endmacro %}

{#- ISO year (the year of the ISO week). The ISO week number itself is weekofyear(d) on both. -#}
{% macro iso_year(d) -%}
    {{ return(adapter.dispatch('iso_year', 'ecom_platform')(d)) }}
{%- endmacro %}
{% macro default__iso_year(d) -%} isoyear({{ d }}) {%- endmacro %}
{% macro spark__iso_year(d) -%} extract(YEAROFWEEK from {{ d }}) {%- endmacro %}

{#- Full English month / day names ('January', 'Sunday'). Spark 4's monthname()/dayname()
    exist but return 'Jan' / 'Sun'. -#}
{% macro month_name(d) -%}
    {{ return(adapter.dispatch('month_name', 'ecom_platform')(d)) }}
{%- endmacro %}
{% macro default__month_name(d) -%} monthname({{ d }}) {%- endmacro %}
{% macro spark__month_name(d) -%} date_format({{ d }}, 'MMMM') {%- endmacro %}
{% macro day_name(d) -%}
    {{ return(adapter.dispatch('day_name', 'ecom_platform')(d)) }}
{%- endmacro %}
{% macro default__day_name(d) -%} dayname({{ d }}) {%- endmacro %}
{% macro spark__day_name(d) -%} date_format({{ d }}, 'EEEE') {%- endmacro %}

{#- A date plus a number of months given by an expression (dbt.dateadd on Spark goes through
    to_timestamp(unix seconds), which fails under spark.sql.timestampType=TIMESTAMP_NTZ). -#}
{% macro add_months(d, n) -%}
    {{ return(adapter.dispatch('add_months', 'ecom_platform')(d, n)) }}
{%- endmacro %}
{% macro default__add_months(d, n) -%} cast({{ d }} + to_months({{ n }}) as date) {%- endmacro %}
{% macro spark__add_months(d, n) -%} add_months({{ d }}, {{ n }}) {%- endmacro %}

{#- A 64-bit hash of one or more columns, for grouping and candidate search only (values
    differ between engines; never persisted as a key). -#}
{% macro hash64(columns) -%}
    {{ return(adapter.dispatch('hash64', 'ecom_platform')(columns)) }}
{%- endmacro %}
{% macro default__hash64(columns) -%} hash({{ columns }}) {%- endmacro %}
{% macro spark__hash64(columns) -%} xxhash64({{ columns }}) {%- endmacro %}

{#- An aggregate: the n-th largest value of `column` in the group (its smallest when the group
    has fewer than n values). Every row of a top-n ranked by `column` first has at least
    that value, so a ranking can skip the rows below it. DuckDB keeps the n largest in one
    hash aggregate (`max(x, n)`); Spark gives the group's smallest value (no row skipped). -#}
{% macro nth_largest(column, n) -%}
    {{ return(adapter.dispatch('nth_largest', 'ecom_platform')(column, n)) }}
{%- endmacro %}
{% macro default__nth_largest(column, n) -%} list_min(max({{ column }}, {{ n }})) {%- endmacro %}
{% macro spark__nth_largest(column, n) -%} min({{ column }}) {%- endmacro %}

{#- The first 15 hex digits of md5(text) as a BIGINT (60 bits, always positive): the same
    number on both engines (stable_key). -#}
{% macro md5_bigint(text_expr) -%}
    {{ return(adapter.dispatch('md5_bigint', 'ecom_platform')(text_expr)) }}
{%- endmacro %}
{% macro default__md5_bigint(text_expr) -%}
    cast(('0x' || left(md5({{ text_expr }}), 15)) as bigint)
{%- endmacro %}
{% macro spark__md5_bigint(text_expr) -%}
    cast(conv(substr(md5({{ text_expr }}), 1, 15), 16, 10) as bigint)
{%- endmacro %}

{#- Set-returning expressions for the SELECT list (one output row per value).
    int_series(a, b): the integers a..b inclusive, as INTEGER.
    day_series(a, b): the dates a..b inclusive, one a day (DuckDB gives TIMESTAMP: cast it). -#}
{% macro int_series(start, stop) -%}
    {{ return(adapter.dispatch('int_series', 'ecom_platform')(start, stop)) }}
{%- endmacro %}
{% macro default__int_series(start, stop) -%}
    cast(unnest(range({{ start }}, {{ stop }} + 1)) as integer)
{%- endmacro %}
{% macro spark__int_series(start, stop) -%}
    explode(sequence(cast({{ start }} as integer), cast({{ stop }} as integer)))
{%- endmacro %}
{% macro day_series(start, stop) -%}
    {{ return(adapter.dispatch('day_series', 'ecom_platform')(start, stop)) }}
{%- endmacro %}
{% macro default__day_series(start, stop) -%}
    unnest(generate_series(cast({{ start }} as timestamp), cast({{ stop }} as timestamp), interval 1 day))
{%- endmacro %}
{% macro spark__day_series(start, stop) -%}
    explode(sequence(cast({{ start }} as date), cast({{ stop }} as date), interval 1 day))
{%- endmacro %}

{#- string_agg ordered by the aggregated value itself. dbt.listagg ignores order_by on Spark
    (it warns); Spark 4 has listagg ... WITHIN GROUP, DuckDB does not. -#}
{% macro string_agg_sorted(expr, sep) -%}
    {{ return(adapter.dispatch('string_agg_sorted', 'ecom_platform')(expr, sep)) }}
{%- endmacro %}
{% macro default__string_agg_sorted(expr, sep) -%}
    string_agg({{ expr }}, {{ sep }} order by {{ expr }})
{%- endmacro %}
{% macro spark__string_agg_sorted(expr, sep) -%}
    listagg({{ expr }}, {{ sep }}) within group (order by {{ expr }})
{%- endmacro %}

{#- starts_with(text, prefix): DuckDB starts_with, Spark startswith (no common name). -#}
{% macro starts_with(text_expr, prefix) -%}
    {{ return(adapter.dispatch('starts_with', 'ecom_platform')(text_expr, prefix)) }}
{%- endmacro %}
{% macro default__starts_with(text_expr, prefix) -%} starts_with({{ text_expr }}, {{ prefix }}) {%- endmacro %}
{% macro spark__starts_with(text_expr, prefix) -%} startswith({{ text_expr }}, {{ prefix }}) {%- endmacro %}

{#- Day-partitioned incremental facts: DuckDB delete+insert on the day column; Spark has no
    DELETE on parquet tables, so insert_overwrite of the day partitions (dynamic partition
    overwrite, set by dbt-spark when partition_by is given). -#}
{% macro day_incremental_strategy() -%}
    {{ return('insert_overwrite' if target.type == 'spark' else 'delete+insert') }}
{%- endmacro %}
{% macro day_partition_by(day_column) -%}
    {{ return([day_column] if target.type == 'spark' else none) }}
{%- endmacro %}

{#- Every column but some: DuckDB `* exclude (c)`, Spark `* except (c)` (DuckDB 2 takes
    `except` too, but the linter's DuckDB dialect does not). Usage: `{{ star_except('c') }}`. -#}
{% macro star_except(columns) -%}
    {{ return(adapter.dispatch('star_except', 'ecom_platform')(columns)) }}
{%- endmacro %}
{% macro default__star_except(columns) -%} * exclude ({{ columns }}) {%- endmacro %}
{% macro spark__star_except(columns) -%} * except ({{ columns }}) {%- endmacro %}
