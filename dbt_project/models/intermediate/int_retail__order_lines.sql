{#-
    Invoice lines after exact duplicate lines are dropped (the one documented exclusion
    between raw.transactions and fct_order_lines), with the durable keys of every
    dimension computed from natural keys (see macros/keys.sql). Materialised once because
    every order-line consumer reads it.

    Incremental by invoice day like fct_order_lines: a landing-sensor run sets the window
    of the days its files touch (and of the versions they replace), so only those days are
    rebuilt; a Dagster run without a day window builds it with --full-refresh. A plain
    `dbt build` without a window rebuilds every day. Duplicates share their invoice
    timestamp, so a day window never splits a duplicate group. A window's build tests only
    its rows (meta tests_day_column, see macros/new_rows.sql).
-#}
{{ config(
    materialized='incremental',
    incremental_strategy=day_incremental_strategy(),
    partition_by=day_partition_by('invoice_day'),
    unique_key='invoice_day',
    on_schema_change='fail',
    meta={'tests_day_column': 'invoice_day'},
    pre_hook="{{ delete_day_window('invoice_day') }}",
) }}

with

{%- if day_window_given() %}

    -- A day window: its lines, each group of identical lines (every business column
    -- equal, NULLs included: macros/duplicate_lines.sql) once, as its first copy by file
    -- sha256 then row number: the staging view's is_duplicate over the window's lines
    -- alone. Identical lines share invoice_date, so a group never spans two days. Reading
    -- is_duplicate, or a window function over the view, runs the view's duplicate search
    -- over every line (DuckDB keeps it under them); a GROUP BY does not.
    lines as (

        select
            {{ line_business_columns() | join(', ') }},
            min_by(invoice_day, copy_order) as invoice_day,
            min_by(line_amount, copy_order) as line_amount,
            min_by(is_cancellation, copy_order) as is_cancellation,
            min_by(is_merchandise, copy_order) as is_merchandise,
            min_by(_source_file, copy_order) as _source_file,
            min_by(_file_sha256, copy_order) as _file_sha256,
            min_by(_row_number, copy_order) as _row_number,
            min_by(_ingested_at, copy_order) as _ingested_at
        from (
            select
                {{ line_business_columns() | join(', ') }},
                invoice_day,
                line_amount,
                is_cancellation,
                is_merchandise,
                _source_file,
                _file_sha256,
                _row_number,
                _ingested_at,
                -- (file sha256, row number) as one sortable string: the sha has a fixed length
                _file_sha256 || ':' || lpad(cast(_row_number as string), 12, '0') as copy_order
            from {{ ref('stg_retail__transactions') }}
            -- the window's days by their time, which reaches the raw table's scan
            where {{ day_window_time_predicate('invoice_date') }}
        ) as window_lines
        group by {{ line_business_columns() | join(', ') }}

    ),
{%- else %}

    lines as (

        select * from {{ ref('stg_retail__transactions') }}
        where not is_duplicate

    ),
{%- endif %}

-- The dimension keys are md5 hashes of low-cardinality natural keys: hash each distinct
-- value once and join, instead of three md5 calls per line (the same keys, see keys.sql).
-- A full build takes the values from every staging line (a superset of `lines`, so every
-- line finds its key), so that `lines` keeps a single consumer (DuckDB would materialise
-- a CTE read four times); a day window takes them from its few lines (the distinct values
-- of every staging line cost about 2 s each at scale 10).
{%- set key_values = 'lines' if day_window_given() else ref('stg_retail__transactions') %}
customer_keys as (

    select
        customer_id,
        {{ stable_key('customer_id') }} as customer_key
    from (
        select distinct customer_id from {{ key_values }}
        where customer_id is not null
    )

),

product_keys as (

    select
        stock_code,
        {{ stable_key('stock_code') }} as product_key
    from (
        select distinct stock_code from {{ key_values }}
        where stock_code is not null
    )

),

country_keys as (

    select
        country,
        {{ stable_key('country') }} as country_key
    from (
        select distinct country from {{ key_values }}
        where country is not null
    )

),

keyed as (

    select
        {{ stable_key("lines._file_sha256 || ':' || cast(lines._row_number as string)") }} as order_line_key,
        lines.invoice,
        lines.stock_code,
        lines.description,
        lines.customer_id,
        coalesce(customer_keys.customer_key, {{ unknown_key() }}) as customer_key,
        product_keys.product_key,
        {{ date_key('lines.invoice_day') }} as date_key,
        lines.country,
        coalesce(country_keys.country_key, {{ unknown_key() }}) as country_key,
        lines.invoice_date,
        lines.invoice_day,
        lines.quantity,
        lines.unit_price,
        lines.line_amount as net_amount,
        lines.is_cancellation,
        lines.is_merchandise,
        lines._source_file,
        lines._file_sha256,
        lines._row_number,
        lines._ingested_at

    from lines
    left join customer_keys
        on lines.customer_id = customer_keys.customer_id
    left join product_keys
        on lines.stock_code = product_keys.stock_code
    left join country_keys
        on lines.country = country_keys.country

)

select * from keyed
