-- One row per RFM segment of the seed (every segment listed, with zeros when empty):
-- customers, their share of all scored customers, average recency / frequency / monetary
-- and total monetary.
with

rfm as (

    select * from {{ ref('customer_rfm') }}

),

segments as (

    select distinct segment from {{ ref('rfm_segment_map') }}

),

totals as (

    select count(*) as all_customers from rfm

),

by_segment as (

    select
        segment,
        count(*) as customers,
        avg(recency_days) as avg_recency_days,
        avg(frequency) as avg_frequency,
        avg(cast(monetary as double)) as avg_monetary,
        sum(monetary) as total_monetary
    from rfm
    group by segment

)

select
    segments.segment,
    coalesce(by_segment.customers, 0) as customers,
    round(coalesce(by_segment.customers, 0) / nullif(totals.all_customers, 0), 4) as customer_share,
    round(by_segment.avg_recency_days, 1) as avg_recency_days,
    round(by_segment.avg_frequency, 2) as avg_frequency,
    cast(round(by_segment.avg_monetary, 2) as decimal(18, 2)) as avg_monetary,
    cast(coalesce(by_segment.total_monetary, 0) as decimal(18, 2)) as total_monetary
from segments
cross join totals
left join by_segment
    on segments.segment = by_segment.segment
