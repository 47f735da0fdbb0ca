{#-
    The merchandise sales measures of kpi_sales_daily and its breakdowns, defined once
    (aggregates over order lines aliased `lines`, merchandise lines only):
      revenue           net sales: quantity x unit_price, cancellations as negatives
      gross_revenue     the same over non-cancelled invoices only
      cancelled_revenue minus the same over cancellation invoices (a positive number)
      orders            distinct non-cancelled invoices
      cancellations     distinct cancellation invoices
      units             net units (cancellations negative)
-#}
{% macro merchandise_sales_measures(lines='lines') -%}
    sum({{ lines }}.net_amount) as revenue,
    coalesce(sum({{ lines }}.net_amount) filter (where not {{ lines }}.is_cancellation), 0) as gross_revenue,
    coalesce(-sum({{ lines }}.net_amount) filter (where {{ lines }}.is_cancellation), 0) as cancelled_revenue,
    count(distinct {{ lines }}.invoice) filter (where not {{ lines }}.is_cancellation) as orders,
    count(distinct {{ lines }}.invoice) filter (where {{ lines }}.is_cancellation) as cancellations,
    sum({{ lines }}.quantity) as units
{%- endmacro %}
