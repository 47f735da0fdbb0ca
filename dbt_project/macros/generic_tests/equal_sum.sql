{#-
    Fails when sum(column) over this model differs from sum(compare_column) over
    compare_model by more than `tolerance` (default 0: exact, e.g. to the cent for DECIMAL).
    Optional `where_clause` / `compare_where` restrict either side.
-#}
{% test equal_sum(model, column_name, compare_model, compare_column, where_clause=none, compare_where=none, tolerance=0) %}
with a as (
    select coalesce(sum({{ column_name }}), 0) as total
    from {{ model }}
    {% if where_clause %}where {{ where_clause }}{% endif %}
),
b as (
    select coalesce(sum({{ compare_column }}), 0) as total
    from {{ compare_model }}
    {% if compare_where %}where {{ compare_where }}{% endif %}
)
select a.total as model_total, b.total as compare_total, a.total - b.total as difference
from a cross join b
where abs(a.total - b.total) > {{ tolerance }}
{% endtest %}
