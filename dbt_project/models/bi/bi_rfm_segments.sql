{{ config(alias='rfm_segments') }}
-- One row per RFM segment.
select
    cast(segment as string) as segment,
    cast(customers as bigint) as customers,
    cast(customer_share as double) as customer_share,
    cast(avg_recency_days as double) as avg_recency_days,
    cast(avg_frequency as double) as avg_order_count,
    cast(avg_monetary as decimal(18, 2)) as avg_net_revenue,
    cast(total_monetary as decimal(18, 2)) as total_net_revenue
from {{ ref('rfm_segment_summary') }}
