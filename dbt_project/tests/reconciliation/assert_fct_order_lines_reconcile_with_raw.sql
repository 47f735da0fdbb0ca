{{ config(meta={'dagster': {'ref': {'name': 'fct_order_lines'}}}) }}
-- fct_order_lines = accepted raw lines - documented exclusions, to the cent (and line count).
-- Computed independently of reconciliation_order_lines: raw from the source table, the
-- exclusion (exact duplicate lines) recomputed here from the business columns.
-- In a daily-partitioned build both sides are restricted to the partition window (duplicate
-- groups share their invoice_date, so a window never splits one).
with

raw_lines as (

    select
        *,
        row_number() over (
            partition by trim(invoice), trim(stock_code), nullif(trim(description), ''), quantity,
                         invoice_date, price, customer_id, nullif(trim(country), '')
            order by _file_sha256, _row_number
        ) as occurrence
    from {{ source('raw', 'transactions') }}

),

raw_window as (

    select * from raw_lines
    where {{ day_window_predicate('cast(invoice_date as date)') }}

),

raw_total as (

    select count(*) as n_lines, coalesce(sum(cast(quantity * price as decimal(18, 3))), 0) as amount
    from raw_window

),

exclusions as (

    select count(*) as n_lines, coalesce(sum(cast(quantity * price as decimal(18, 3))), 0) as amount
    from raw_window
    where occurrence > 1

),

fct_total as (

    select count(*) as n_lines, coalesce(sum(net_amount), 0) as amount
    from {{ ref('fct_order_lines') }}
    where {{ day_window_predicate('invoice_day') }}

)

select
    raw_total.n_lines   as raw_lines,
    exclusions.n_lines  as excluded_lines,
    fct_total.n_lines   as fct_lines,
    raw_total.amount    as raw_amount,
    exclusions.amount   as excluded_amount,
    fct_total.amount    as fct_amount
from raw_total, exclusions, fct_total
where raw_total.n_lines - exclusions.n_lines <> fct_total.n_lines
   or round(raw_total.amount - exclusions.amount, 2) <> round(fct_total.amount, 2)
