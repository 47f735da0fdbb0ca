{#-
    The reconciliation of raw.transactions with fct_order_lines, per invoice day: the
    accepted raw lines, the exact duplicate lines among them (the one documented
    exclusion) and fct_order_lines' lines, each as lines, units and amount (quantity x
    price, exact DECIMAL). reconciliation_order_lines adds the days up.

    Raw is read from the source table, and the duplicates are counted from the business
    columns there (a group count: a line with n identical copies adds n - 1), independently
    of the staging view and of int_retail__order_lines, which drop them. Every copy of a
    line has the same invoice_date, quantity and price, so a day holds whole groups.

    Incremental by invoice day like fct_order_lines: a landing-sensor run recomputes the
    days of its window (the pre-hook deletes them first); without a window every day.
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

-- one row per distinct raw line (the business columns, as the staging view trims them)
raw_groups as (

    select
        cast(invoice_date as date) as invoice_day,
        count(*) as n_copies,
        quantity,
        cast(quantity * price as decimal(18, 3)) as line_amount
    from {{ source('raw', 'transactions') }}
    where {{ day_window_filter('cast(invoice_date as date)') }}
    group by {{ raw_line_business_columns() | join(', ') }}

),

raw_days as (

    select
        invoice_day,
        sum(n_copies) as raw_lines,
        sum(n_copies * quantity) as raw_quantity,
        sum(n_copies * line_amount) as raw_amount,
        sum(n_copies - 1) as duplicate_lines,
        sum((n_copies - 1) * quantity) as duplicate_quantity,
        sum((n_copies - 1) * line_amount) as duplicate_amount
    from raw_groups
    group by invoice_day

),

fct_days as (

    select
        invoice_day,
        count(*) as fct_lines,
        sum(quantity) as fct_quantity,
        sum(net_amount) as fct_amount
    from {{ ref('fct_order_lines') }}
    where {{ day_window_filter('invoice_day') }}
    group by invoice_day

)

select
    coalesce(raw_days.invoice_day, fct_days.invoice_day) as invoice_day,
    cast(coalesce(raw_days.raw_lines, 0) as bigint) as raw_lines,
    cast(coalesce(raw_days.raw_quantity, 0) as bigint) as raw_quantity,
    cast(coalesce(raw_days.raw_amount, 0) as decimal(18, 3)) as raw_amount,
    cast(coalesce(raw_days.duplicate_lines, 0) as bigint) as duplicate_lines,
    cast(coalesce(raw_days.duplicate_quantity, 0) as bigint) as duplicate_quantity,
    cast(coalesce(raw_days.duplicate_amount, 0) as decimal(18, 3)) as duplicate_amount,
    cast(coalesce(fct_days.fct_lines, 0) as bigint) as fct_lines,
    cast(coalesce(fct_days.fct_quantity, 0) as bigint) as fct_quantity,
    cast(coalesce(fct_days.fct_amount, 0) as decimal(18, 3)) as fct_amount
from raw_days
full outer join fct_days
    on raw_days.invoice_day = fct_days.invoice_day
