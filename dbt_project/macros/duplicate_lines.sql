{#- The business columns of an invoice line. Two lines equal on every one of them (NULLs
    included) are exact duplicates: the first copy by file sha256 then row number is kept,
    the others are the documented exclusion (stg_retail__transactions' is_duplicate, and
    int_retail__order_lines over a day window). -#}
{% macro line_business_columns() -%}
    {{- return(['invoice', 'stock_code', 'description', 'quantity', 'invoice_date', 'unit_price', 'customer_id', 'country']) -}}
{%- endmacro %}

{#- The same columns as raw.transactions holds them, trimmed as the staging view trims them:
    what the raw-side duplicate counts group by (int_retail__daily_reconciliation and the
    test assert_fct_order_lines_reconcile_with_raw, both independent of staging). -#}
{% macro raw_line_business_columns() -%}
    {{- return([
        'trim(invoice)', 'trim(stock_code)', "nullif(trim(description), '')", 'quantity',
        'invoice_date', 'price', 'customer_id', "nullif(trim(country), '')",
    ]) -}}
{%- endmacro %}
