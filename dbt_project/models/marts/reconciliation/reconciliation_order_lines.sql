-- Reconciles the accepted raw invoice lines (raw.transactions: what ingestion accepted;
-- rejected rows are in raw.quarantine) with fct_order_lines. One row per step:
--   1 source_total  raw.transactions as loaded
--   2 exclusion     each documented exclusion (today: exact duplicate lines, i.e. the 2nd+
--                   occurrence of a line identical on every business column)
--   3 target_total  fct_order_lines
--   4 difference    source_total - sum(exclusions) - target_total: must be zero lines,
--                   zero units and 0.000 amount (tests/reconciliation)
-- amount = sum of quantity x price, exact DECIMAL.
-- Summed from int_retail__daily_reconciliation (per invoice day, kept by day in a
-- landing-sensor run), which counts raw and its duplicates from the source table.
with

days as (

    select * from {{ ref('int_retail__daily_reconciliation') }}

),

raw_lines as (

    select
        coalesce(sum(raw_lines), 0) as n_lines,
        coalesce(sum(raw_quantity), 0) as quantity,
        coalesce(sum(raw_amount), 0) as amount
    from days

),

duplicate_lines as (

    select
        coalesce(sum(duplicate_lines), 0) as n_lines,
        coalesce(sum(duplicate_quantity), 0) as quantity,
        coalesce(sum(duplicate_amount), 0) as amount
    from days

),

fct_lines as (

    select
        coalesce(sum(fct_lines), 0) as n_lines,
        coalesce(sum(fct_quantity), 0) as quantity,
        coalesce(sum(fct_amount), 0) as amount
    from days

),

steps as (

    select
        1 as step_order,
        'raw accepted lines' as step,
        'source_total' as step_type,
        'raw.transactions as accepted by ingestion' as description,
        n_lines,
        quantity,
        amount
    from raw_lines

    union all
    select
        2,
        'exact duplicate lines',
        'exclusion',
        'Second and later occurrences of a line identical on invoice, stock_code, description, quantity, invoice_date, price, customer_id and country (the first, by file sha256 and row number, is kept)',  -- noqa: LT05
        n_lines,
        quantity,
        amount
    from duplicate_lines

    union all
    select
        3,
        'fct_order_lines',
        'target_total',
        'marts.fct_order_lines',
        n_lines,
        quantity,
        amount
    from fct_lines

    union all
    select
        4,
        'unexplained difference',
        'difference',
        'raw accepted lines - exclusions - fct_order_lines; must be zero',
        r.n_lines - d.n_lines - f.n_lines,
        r.quantity - d.quantity - f.quantity,
        r.amount - d.amount - f.amount
    from raw_lines as r, duplicate_lines as d, fct_lines as f

)

select
    step_order,
    step,
    step_type,
    description,
    cast(n_lines as bigint) as n_lines,
    cast(quantity as bigint) as quantity,
    cast(amount as decimal(18, 3)) as amount
from steps
