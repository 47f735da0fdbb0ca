-- The most engaged users per category and per brand: one row per (dimension,
-- dimension_value, user) for the top var('engagement_top_n') (default 10) users of each
-- category / brand, ranked by interactions (all events), then purchases, carts, user id.
{%- set top_n = var('engagement_top_n', 10) | int %}
with

events as (

    select * from {{ ref('fct_events') }}

),

-- Counts once per (user, category, brand); the category and brand rankings below add
-- these up (sums of counts), instead of grouping two copies of every event.
user_category_brand as (

    select
        user_id,
        category,
        brand,
        count(*)                                                    as interactions,
        count(*) filter (where event_type = 'view')                 as views,
        count(*) filter (where event_type = 'cart')                 as carts,
        count(*) filter (where event_type = 'purchase')             as purchases,
        sum(price) filter (where event_type = 'purchase')           as purchase_revenue
    from events
    group by user_id, category, brand

),

-- grouping(category, brand) = 1: the (category, user) set; 2: the (brand, user) set
per_user_sets as (

    select
        case grouping(category, brand) when 1 then 'category' else 'brand' end as dimension,
        case grouping(category, brand) when 1 then category else brand end      as dimension_value,
        user_id,
        cast(sum(interactions) as bigint)                           as interactions,
        cast(sum(views) as bigint)                                  as views,
        cast(sum(carts) as bigint)                                  as carts,
        cast(sum(purchases) as bigint)                              as purchases,
        cast(coalesce(sum(purchase_revenue), 0) as decimal(18, 2))  as purchase_revenue
    from user_category_brand
    group by grouping sets ((category, user_id), (brand, user_id))

),

-- events without a brand do not count for the brand dimension
per_user as (

    select *
    from per_user_sets
    where not (dimension = 'brand' and dimension_value is null)

),

ranked as (

    select
        *,
        row_number() over (
            partition by dimension, dimension_value
            order by interactions desc, purchases desc, carts desc, user_id asc
        ) as engagement_rank
    from per_user

)

select *
from ranked
where engagement_rank <= {{ top_n }}
