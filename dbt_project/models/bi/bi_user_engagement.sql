{{ config(alias='user_engagement') }}
-- The most engaged users of each category and brand (clickstream). Pseudonymous user id.
select
    cast(dimension as string) as dimension,
    cast(dimension_value as string) as dimension_value,
    cast(engagement_rank as integer) as engagement_rank,
    cast(user_id as bigint) as user_id,
    cast(interactions as bigint) as interactions,
    cast(views as bigint) as views,
    cast(carts as bigint) as carts,
    cast(purchases as bigint) as purchases,
    cast(purchase_revenue as decimal(18, 2)) as purchase_revenue
from {{ ref('user_engagement') }}
