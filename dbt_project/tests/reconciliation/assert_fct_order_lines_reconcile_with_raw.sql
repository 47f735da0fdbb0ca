{{ config(meta={'dagster': {'ref': {'name': 'fct_order_lines'}}}) }}
-- depends_on: {{ ref('fct_order_lines') }}
-- fct_order_lines = accepted raw lines - documented exclusions, exactly (lines, units and
-- amount), on every invoice day: int_retail__daily_reconciliation counts raw and its exact
-- duplicates from the source table, independently of the models that drop them, and
-- fct_order_lines' lines. A failing row names the day. In a build with a day window, the
-- window's days (the others are unchanged since a build that checked them).
select *
from {{ ref('int_retail__daily_reconciliation') }}
where
    {{ day_window_predicate('invoice_day') }}
    and (
        raw_lines - duplicate_lines <> fct_lines
        or raw_quantity - duplicate_quantity <> fct_quantity
        or raw_amount - duplicate_amount <> fct_amount
    )
