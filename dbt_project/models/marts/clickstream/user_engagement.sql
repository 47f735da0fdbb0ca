-- The most engaged users per category and per brand: one row per (dimension,
-- dimension_value, user) for the top var('engagement_top_n') (default 10) users of each
-- category / brand, ranked by interactions (all events), then purchases, carts, user id.
{%- set top_n = var('engagement_top_n', 10) | int %}
with

-- the per-(user, category, brand) state (keyed_window.sql), once per category and per brand
user_rows as (

    select * from {{ ref('int_events__user_category_brand') }}

),

long as (

    select
        'category' as dimension,
        category as dimension_value,
        user_id,
        interactions,
        views,
        carts,
        purchases,
        purchase_revenue
    from user_rows
    union all
    select
        'brand',
        brand,
        user_id,
        interactions,
        views,
        carts,
        purchases,
        purchase_revenue
    from user_rows
    where brand is not null

),

per_user as (

    select
        dimension,
        dimension_value,
        user_id,
        cast(sum(interactions) as bigint) as interactions,
        cast(sum(views) as bigint) as views,
        cast(sum(carts) as bigint) as carts,
        cast(sum(purchases) as bigint) as purchases,
        cast(coalesce(sum(purchase_revenue), 0) as decimal(18, 2)) as purchase_revenue
    from long
    group by dimension, dimension_value, user_id

),

ranked as (

    select
        *,
        -- BIGINT on every engine (Spark's row_number is an INT)
        cast(row_number() over (
            partition by dimension, dimension_value
            order by interactions desc, purchases desc, carts desc, user_id asc
        ) as bigint) as engagement_rank
    from per_user

)

select *
from ranked
where engagement_rank <= {{ top_n }}
