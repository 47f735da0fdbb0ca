{#- The business columns of an invoice line. Two lines equal on every one of them (NULLs
    included) are exact duplicates: the first copy by file sha256 then row number is kept,
    the others are the documented exclusion (stg_retail__transactions' is_duplicate, and
    int_retail__order_lines over a day window). -#}
{% macro line_business_columns() -%}
    {{- return(['invoice', 'stock_code', 'description', 'quantity', 'invoice_date', 'unit_price', 'customer_id', 'country']) -}}
{%- endmacro %}
