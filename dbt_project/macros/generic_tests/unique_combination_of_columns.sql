{#- Fails for each combination of `combination_of_columns` that occurs more than once.

    Over a whole table, two passes: a 64-bit hash of the columns is grouped first (one
    BIGINT per row instead of the values, e.g. a 64-character file sha256 and a row number),
    and only the rows whose hash repeats are grouped by their values. Equal values have
    equal hashes, so the result is the same as grouping every row by its values; when no
    hash repeats (a passing test), the second pass reads nothing (figures:
    docs/benchmarks.md, Measured choices).

    Over a subquery (the test scoped to some rows: its `where` config, a run's new rows or
    its window, macros/new_rows.sql), one pass grouping by the values: the rows are few, and
    a second read of a staging view makes DuckDB keep the view's duplicate search over every
    line (1.6 s for a day's 1,693 lines at scale 10, 0.05 s read once). -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
{%- set columns = combination_of_columns | join(', ') -%}
{%- if model.identifier is defined %}
with repeated_hashes as (

    select {{ ecom_platform.hash64(columns) }} as _combination_hash
    from {{ model }}
    group by _combination_hash
    having count(*) > 1

)

select {{ columns }}, count(*) as n_rows
from {{ model }}
where {{ ecom_platform.hash64(columns) }} in (select _combination_hash from repeated_hashes)
group by {{ columns }}
having count(*) > 1
{%- else %}
select {{ columns }}, count(*) as n_rows
from {{ model }}
group by {{ columns }}
having count(*) > 1
{%- endif %}
{% endtest %}
