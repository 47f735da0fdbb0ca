{{ config(alias='funnel_conversion') }}
-- View -> cart -> purchase funnel overall, per category and per brand.
select
    cast(breakdown as string) as breakdown,
    cast(breakdown_value as string) as breakdown_value,
    cast(sessions_viewed as bigint) as sessions_viewed,
    cast(sessions_carted as bigint) as sessions_carted,
    cast(sessions_purchased as bigint) as sessions_purchased,
    cast(users_viewed as bigint) as users_viewed,
    cast(users_carted as bigint) as users_carted,
    cast(users_purchased as bigint) as users_purchased,
    cast(session_view_to_cart_rate as double) as session_view_to_cart_rate,
    cast(session_cart_to_purchase_rate as double) as session_cart_to_purchase_rate,
    cast(session_view_to_purchase_rate as double) as session_view_to_purchase_rate,
    cast(user_view_to_cart_rate as double) as user_view_to_cart_rate,
    cast(user_cart_to_purchase_rate as double) as user_cart_to_purchase_rate,
    cast(user_view_to_purchase_rate as double) as user_view_to_purchase_rate
from {{ ref('funnel_conversion') }}
