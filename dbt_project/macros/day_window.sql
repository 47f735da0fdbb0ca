{#-
    The day window of the day-grained facts (fct_order_lines by invoice_day, fct_events
    by event_day) and of int_retail__order_lines in landing-sensor runs.

    A day window is `window_start_date` (inclusive) and `window_end_date` (exclusive),
    both 'YYYY-MM-DD' (one dbt invocation per window, so rebuilding a range is one
    `dbt build`). By hand, pass them as vars: `dbt build --vars '{window_start_date: ...}'`.
    Dagster passes the same two values in the environment variables ECOM_DBT_WINDOW_START /
    ECOM_DBT_WINDOW_END instead, read here only while executing: changed vars make dbt
    re-parse the whole project (seconds per run), environment variables read at
    execution time do not. A var wins over the environment. Without a window the models
    build fully.

    day_window_filter('invoice_day') renders the predicate restricting a model's SELECT to
    the window, or `true` when no window is given (a plain `dbt build`, Dagster's runs
    without a day window, which also pass --full-refresh). A window given to a model that
    does not exist yet builds just that window.

    delete_day_window('invoice_day') is the models' pre-hook: in an incremental run it
    deletes every row of the window before the delete+insert strategy inserts the window's
    new rows. delete+insert alone only replaces the days present in the new rows; a day
    whose rows all disappeared (a corrected file under the same name) would otherwise keep
    its stale rows. Building the same window twice therefore changes nothing, and an
    incremental run without a window (plain `dbt build` on an existing table) rebuilds
    every day.
-#}
{% macro day_window_bound(name, env_name) -%}
    {%- set value = var(name, none) -%}
    {%- if value is none and execute -%}
        {%- set value = env_var(env_name, '') or none -%}
    {%- endif -%}
    {{- return(value) -}}
{%- endmacro %}

{#- [start, end] of the day window (each none when not given). -#}
{% macro day_window_bounds() -%}
    {{- return([
        day_window_bound('window_start_date', 'ECOM_DBT_WINDOW_START'),
        day_window_bound('window_end_date', 'ECOM_DBT_WINDOW_END'),
    ]) -}}
{%- endmacro %}

{#- The table exists (is_incremental(): not a first build, not --full-refresh) and a day
    window is given (both bounds): what the windowed marts (mart_window.sql) and the
    key-maintained models (keyed_window.sql) ask before building only part of a table. -#}
{% macro incremental_with_window() -%}
    {#- a unit test has no `this` (its SQL runs on fixtures): never windowed -#}
    {%- if not execute or this is none or not is_incremental() -%}
        {{- return(false) -}}
    {%- endif -%}
    {%- set start, end = day_window_bounds() -%}
    {{- return(start is not none and end is not none) -}}
{%- endmacro %}

{#- A day window is given (either bound): the build reads only its days. -#}
{% macro day_window_given() -%}
    {%- set start, end = day_window_bounds() -%}
    {{- return(start is not none or end is not none) -}}
{%- endmacro %}

{% macro day_window_predicate(day_column) -%}
    {{ day_window_range(day_column, 'date') }}
{%- endmacro %}

{#- The window on a timestamp column: the same rows as day_window_predicate on its day
    (`true` without a window), in a form a scan can check against the table's zone maps,
    also through a view (a day is a cast DuckDB does not push into the scan). -#}
{% macro day_window_time_predicate(time_column) -%}
    {{ day_window_range(time_column, 'timestamp') }}
{%- endmacro %}

{#- start <= column < end for a column of `data_type` (date or timestamp), an open bound
    when one is not given; `true` without a window. -#}
{% macro day_window_range(column, data_type) -%}
    {%- set start, end = day_window_bounds() -%}
    {%- if start or end -%}
        ({{ column }} >= {{ "cast('" ~ start ~ "' as " ~ data_type ~ ")" if start else data_type ~ " '0001-01-01'" }}
         and {{ column }} < {{ "cast('" ~ end ~ "' as " ~ data_type ~ ")" if end else data_type ~ " '9999-12-31'" }})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{% macro day_window_filter(day_column) -%}
    {{ day_window_predicate(day_column) }}
{%- endmacro %}

{% macro delete_day_window(day_column) -%}
    {%- if is_incremental() -%}
        {{ delete_rows_where(day_column, day_window_predicate(day_column)) }}
    {%- else -%}
        select 1 as no_window_to_delete
    {%- endif -%}
{%- endmacro %}

{#-
    delete_rows_where(column, predicate): the SQL of a pre-hook removing the rows of {{ this }}
    that match `predicate`, where `column` is the table's partition column on Spark. Shared by
    delete_day_window and the marts' delete_mart_window (mart_window.sql).
-#}
{% macro delete_rows_where(column, predicate) -%}
    {{ return(adapter.dispatch('delete_rows_where', 'ecom_platform')(column, predicate)) }}
{%- endmacro %}

{% macro default__delete_rows_where(column, predicate) -%}
    delete from {{ this }} where {{ predicate }}
{%- endmacro %}

{#-
    fct_events looks its customer_key / product_key up in dim_customers / dim_products. A
    day built incrementally uses the dimensions as they are at that time; a customer first
    seen later (events usually come before the first purchase), or a catalogue loaded later,
    would leave older days with -1. These post-hooks re-resolve both keys over the whole table
    after every windowed build, touching only the rows whose key changed, so the table always
    equals a full rebuild.

    The stale keys are found without reading every event: the table dbt_state.fct_events__<key
    column>s keeps, for each id the events have (user_id, product_id), the key they carry
    (after each build every event of an id carries the same one). A windowed build adds the
    window's new ids, compares each id's key with the dimension's, and updates the events
    and the kept key of those that differ (usually a few new customers). An id whose events
    are all gone stays: a key kept for nothing is only compared. A build of every day (a
    first build, --full-refresh, no window bound) resolves every key as it inserts, and
    rebuilds the kept keys from the table; a windowed build that finds no kept keys (an
    upgrade) rebuilds them as the events are and then repairs as above.
    The kept keys are written in the model's transaction: a build that dies leaves neither.
-#}
{% macro repair_event_customer_keys() -%}
    {{ return(adapter.dispatch('repair_event_customer_keys', 'ecom_platform')()) }}
{%- endmacro %}

{% macro default__repair_event_customer_keys() -%}
    {{ repair_event_keys(
        'user_id', 'customer_key',
        'select customer_id as id, customer_key as resolved_key from ' ~ ref('dim_customers')
        ~ ' where customer_id is not null'
    ) }}
{%- endmacro %}

{% macro repair_event_product_keys() -%}
    {{ return(adapter.dispatch('repair_event_product_keys', 'ecom_platform')()) }}
{%- endmacro %}

{#- one product per catalogue product_id: the first stock code, as fct_events picks it -#}
{% macro default__repair_event_product_keys() -%}
    {{ repair_event_keys(
        'product_id', 'product_key',
        'select product_id as id, min(product_key) as resolved_key from ' ~ ref('dim_products')
        ~ ' where product_id is not null group by product_id'
    ) }}
{%- endmacro %}

{#- Where repair_event_keys keeps, for `relation`'s `key_column`, the key each id's rows
    carry (dbt_state.<table>__<key_column>s). -#}
{% macro kept_keys_relation(relation, key_column) -%}
    {{- return(api.Relation.create(
        database=relation.database, schema='dbt_state', identifier=relation.identifier ~ '__' ~ key_column ~ 's')) -}}
{%- endmacro %}

{#- `relation` is a table of the DuckDB file (queried: dbt's cache does not hold dbt_state). -#}
{% macro duckdb_table_exists(relation) -%}
    {%- set found = run_query(
        "select count(*) from duckdb_tables() where database_name = '" ~ relation.database
        ~ "' and schema_name = '" ~ relation.schema ~ "' and table_name = '" ~ relation.identifier ~ "'") -%}
    {{- return(found.rows[0][0] == 1) -}}
{%- endmacro %}

{#- Re-resolve {{ this }}.`key_column` from `id_column` through `dimension`, a SELECT of
    (id, resolved_key); an id the dimension lacks resolves to the unknown member. -#}
{% macro repair_event_keys(id_column, key_column, dimension) -%}
    {%- if not execute -%}
        {{- return('select 1 as keys_resolved_when_run') -}}
    {%- endif -%}
    {%- set kept = kept_keys_relation(this, key_column) -%}
    {%- set stale = this.identifier ~ '__stale_' ~ key_column ~ 's' -%}
    {%- set rebuilt -%}
        create or replace table {{ kept }} as
        select distinct {{ id_column }} as id, {{ key_column }} as kept_key
        from {{ this }}
        where {{ id_column }} is not null
    {%- endset -%}
    {%- do run_query('create schema if not exists ' ~ kept.include(identifier=false)) -%}
    {%- if not is_incremental() or not day_window_given() -%}
        {#- every day was just inserted, with today's keys -#}
        {{- return(rebuilt) -}}
    {%- endif -%}
    {%- if not duckdb_table_exists(kept) -%}
        {#- an upgrade's first windowed build: the pairs as they are, repaired below -#}
        {%- do run_query(rebuilt) -%}
    {%- else -%}
        {%- do run_query(
            'insert into ' ~ kept ~ ' select distinct ' ~ id_column ~ ', ' ~ key_column ~ ' from ' ~ this
            ~ ' where ' ~ day_window_predicate('event_day') ~ ' and ' ~ id_column ~ ' is not null'
            ~ ' except select id, kept_key from ' ~ kept) -%}
    {%- endif -%}
    {%- do run_query(
        'create or replace temporary table ' ~ stale ~ ' as select distinct kept.id, coalesce(dimension.resolved_key, '
        ~ unknown_key() ~ ') as resolved_key from ' ~ kept ~ ' as kept left join (' ~ dimension ~ ') as dimension'
        ~ ' on kept.id = dimension.id where kept.kept_key <> coalesce(dimension.resolved_key, ' ~ unknown_key() ~ ')') -%}
    {%- do run_query('delete from ' ~ kept ~ ' where id in (select id from ' ~ stale ~ ')') -%}
    {%- do run_query('insert into ' ~ kept ~ ' select id, resolved_key from ' ~ stale) -%}
    update {{ this }}
    set {{ key_column }} = stale.resolved_key
    from {{ stale }} as stale
    where {{ this }}.{{ id_column }} = stale.id
      and {{ this }}.{{ key_column }} <> stale.resolved_key
{%- endmacro %}

{#-
    Spark (parquet tables: no DELETE, no UPDATE; Delta/Iceberg would need jars from Maven).
    delete_day_window drops the window's day partitions (the facts are partitioned by day on
    Spark, see day_partition_by) in one ALTER TABLE (spark__delete_rows_where).
    The key repair rewrites the whole table once through a scratch copy (Spark cannot
    overwrite a table it reads in the same statement), re-resolving both keys; the product
    hook then has nothing left to do. It costs a full copy of fct_events per incremental run.
-#}
{#- Spark: drop the partitions holding matching rows, found by a query at hook time. -#}
{% macro spark__delete_rows_where(column, predicate) -%}
    {%- set specs = [] -%}
    {%- if execute -%}
        {%- set found = run_query(
            "select distinct cast(" ~ column ~ " as string) as d from " ~ this ~ " where " ~ predicate) -%}
        {%- for d in found.columns[0].values() -%}
            {%- do specs.append("partition (" ~ column ~ " = '" ~ d ~ "')") -%}
        {%- endfor -%}
        {%- if specs -%}
            {%- do run_query("alter table " ~ this ~ " drop if exists " ~ specs | join(", ")) -%}
        {%- endif -%}
    {%- endif -%}
    select {{ specs | length }} as partitions_dropped
{%- endmacro %}

{% macro spark__repair_event_customer_keys() -%}
    {%- if is_incremental() and execute -%}
        {%- set scratch = this.incorporate(path={"identifier": this.identifier ~ "__key_repair"}) -%}
        {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
        {%- set select_list = [] -%}
        {%- for c in columns -%}
            {%- if c == 'customer_key' -%}
                {%- do select_list.append("coalesce(customers.customer_key, " ~ unknown_key() ~ ") as customer_key") -%}
            {%- elif c == 'product_key' -%}
                {%- do select_list.append("coalesce(products.product_key, " ~ unknown_key() ~ ") as product_key") -%}
            {%- else -%}
                {%- do select_list.append("events." ~ c) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- do run_query("drop table if exists " ~ scratch) -%}
        {%- do run_query(
            "create table " ~ scratch ~ " using parquet as select " ~ select_list | join(", ")
            ~ " from " ~ this ~ " as events"
            ~ " left join (select customer_id, customer_key from " ~ ref('dim_customers') ~ " where customer_id is not null) as customers"
            ~ " on events.user_id = customers.customer_id"
            ~ " left join (select product_id, min(product_key) as product_key from " ~ ref('dim_products')
            ~ " where product_id is not null group by product_id) as products"
            ~ " on events.product_id = products.product_id") -%}
        {%- do run_query("insert overwrite table " ~ this ~ " select " ~ columns | join(", ") ~ " from " ~ scratch) -%}
        {%- do run_query("drop table if exists " ~ scratch) -%}
        select 1 as keys_resolved_by_rewrite
    {%- else -%}
        select 1 as keys_resolved_by_the_full_build
    {%- endif -%}
{%- endmacro %}

{% macro spark__repair_event_product_keys() -%}
    select 1 as product_keys_resolved_with_the_customer_keys
{%- endmacro %}
