{{ config(meta={'dagster': {'ref': {'name': 'fct_order_lines'}}}) }}
-- fct_order_lines = accepted raw lines - documented exclusions, to the cent (and line count).
-- Computed independently of reconciliation_order_lines: raw from the source table, the
-- exclusion (exact duplicate lines) recomputed here from the business columns (a group
-- count instead of the row_number window: the same totals, without sorting every line).
-- In a build with a day window both sides are restricted to the window (duplicate
-- groups share their invoice_date, so a window never splits one).
with

-- one row per distinct line (the business columns): its number of copies; the first copy
-- is kept, the other n_copies - 1 are the exclusion. quantity and price are part of the
-- key, so every copy has the same amount. invoice_date is part of the key too, so
-- restricting raw to the window first keeps every group whole.
raw_groups as (

    select
        count(*)                                            as n_copies,
        cast(quantity * price as decimal(18, 3))            as line_amount
    from {{ source('raw', 'transactions') }}
    where {{ day_window_predicate('cast(invoice_date as date)') }}
    group by {{ raw_line_business_columns() | join(', ') }}

),

raw_total as (

    select
        coalesce(sum(n_copies), 0)                          as n_lines,
        coalesce(sum(n_copies * line_amount), 0)            as amount
    from raw_groups

),

exclusions as (

    select
        coalesce(sum(n_copies - 1), 0)                      as n_lines,
        coalesce(sum((n_copies - 1) * line_amount), 0)      as amount
    from raw_groups

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
