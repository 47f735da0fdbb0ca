{{ config(alias='data_sources') }}
-- One row per input the platform reads (transactions, events, customers, products), landed
-- or not: what has been loaded, and which analyses the input fills. Lets the dashboard and
-- BI users tell "no events file has landed" from "no data for this chart".
with

sources as (

    select * from (
        values
        (
            1, 'transactions', 'landing/transactions/', true,
            'sales KPIs, products, RFM, cohorts, churn, segments, forecasts, recommendations'
        ),
        (
            2, 'events', 'landing/events/', false,
            'clickstream: sessions, funnel, category popularity, price sensitivity, engagement; churn web-activity features'  -- noqa: LT05
        ),
        (
            3, 'products', 'landing/products/', false,
            'categories and brands of products (category charts, per-category forecasts)'
        ),
        (
            4, 'customers', 'landing/customers/', false,
            'customer profiles (signup date, channel, demographics) for churn and segments'
        )
    -- the alias names the columns (sqlfluff reads it as unused)
    ) as t (sort_order, source, landing_folder, is_required, fills)  -- noqa: AL05

),

-- the current version of each landing file (a replaced file counts once, as its newest load)
file_versions as (

    select
        source,
        file_name,
        rows_accepted,
        finished_at,
        row_number() over (partition by file_name order by finished_at desc) as version_rank
    from {{ ref('stg_ingestion__ingest_log') }}
    where status in ('loaded', 'replaced')

),

loaded as (

    select
        source,
        count(*) as files_loaded,
        sum(rows_accepted) as rows_loaded,
        max(finished_at) as last_loaded_at
    from file_versions
    where version_rank = 1
    group by source

)

select
    cast(sources.source as string) as source,
    cast(sources.landing_folder as string) as landing_folder,
    cast(sources.is_required as boolean) as is_required,
    cast(coalesce(loaded.files_loaded, 0) as bigint) as files_loaded,
    cast(coalesce(loaded.rows_loaded, 0) as bigint) as rows_loaded,
    cast(loaded.last_loaded_at as timestamp) as last_loaded_at,
    cast(sources.fills as string) as fills
from sources
left join loaded
    on sources.source = loaded.source
order by sources.sort_order
