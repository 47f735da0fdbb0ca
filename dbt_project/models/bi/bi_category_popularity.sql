{{ config(alias='category_popularity') }}
-- Interactions by type per category.
select
    cast(category as string) as category,
    cast(popularity_rank as bigint) as popularity_rank,
    cast(interactions as bigint) as interactions,
    cast(views as bigint) as views,
    cast(carts as bigint) as carts,
    cast(removes_from_cart as bigint) as removes_from_cart,
    cast(purchases as bigint) as purchases,
    cast(users as bigint) as users,
    cast(sessions as bigint) as sessions,
    cast(purchase_revenue as decimal(18, 2)) as purchase_revenue,
    cast(interaction_share as double) as interaction_share
from {{ ref('category_popularity') }}
