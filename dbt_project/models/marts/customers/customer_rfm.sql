-- One row per customer with at least one non-cancelled invoice: RFM exactly as defined in
-- docs/rfm.md ("RFM, defined once"):
--   over lines with a customer id, after exact duplicate lines are dropped (fct_order_lines);
--   snapshot date = the day after the last invoice date, or var('rfm_snapshot_date');
--     with an earlier snapshot date, lines on or after it are ignored (RFM "as of" that day);
--   recency_days = snapshot date - date of the last non-cancelled invoice;
--   frequency    = distinct non-cancelled invoices (invoice not starting with 'C');
--   monetary     = sum of quantity x price over all the customer's lines, cancellations
--                  included as negatives;
--   customers with no non-cancelled invoice get no row;
--   scores by ntile(5): R over (recency_days desc, customer_id asc) so 5 = most recent,
--   F over (frequency asc, customer_id asc), M over (monetary asc, customer_id asc);
--   rfm_code = R, F and M as three digits; segment from the seed rfm_segment_map.
{%- set snapshot_date = var('rfm_snapshot_date', none) %}
with

customer_lines as (

    select
        customer_id,
        invoice,
        invoice_day,
        is_cancellation,
        net_amount
    from {{ ref('fct_order_lines') }}
    where customer_id is not null

),

snapshot as (

    {% if snapshot_date -%}
        select cast('{{ snapshot_date }}' as date) as snapshot_date
    {%- else -%}
        select cast(max(invoice_day) + 1 as date) as snapshot_date
        from customer_lines
    {%- endif %}

),

lines as (

    select
        customer_lines.*,
        snapshot.snapshot_date
    from customer_lines
    cross join snapshot
    where customer_lines.invoice_day < snapshot.snapshot_date

),

per_customer as (

    select
        customer_id,
        any_value(snapshot_date) as snapshot_date,
        max(invoice_day) filter (where not is_cancellation) as last_purchase_day,
        count(distinct invoice) filter (where not is_cancellation) as frequency,
        sum(net_amount) as monetary
    from lines
    group by customer_id

),

measured as (

    select
        customer_id,
        cast({{ dbt.datediff('last_purchase_day', 'snapshot_date', 'day') }} as integer) as recency_days,
        cast(frequency as integer) as frequency,
        cast(monetary as decimal(18, 3)) as monetary
    from per_customer
    where frequency > 0

),

scored as (

    select
        *,
        cast(ntile(5) over (order by recency_days desc, customer_id asc) as integer) as r_score,
        cast(ntile(5) over (order by frequency asc, customer_id asc) as integer) as f_score,
        cast(ntile(5) over (order by monetary asc, customer_id asc) as integer) as m_score
    from measured

),

segment_map as (

    select
        rfm_code,
        segment
    from {{ ref('rfm_segment_map') }}

)

select
    scored.customer_id,
    scored.recency_days,
    scored.frequency,
    scored.monetary,
    scored.r_score,
    scored.f_score,
    scored.m_score,
    cast(scored.r_score as string) || cast(scored.f_score as string) || cast(scored.m_score as string)
        as rfm_code,
    segment_map.segment
from scored
left join segment_map
    on
        cast(scored.r_score as string) || cast(scored.f_score as string) || cast(scored.m_score as string)
        = segment_map.rfm_code
