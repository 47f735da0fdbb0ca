"""For sqlfluff only: dbt's cross-database macros the models call, rendered as dbt-duckdb
renders them, so make lint parses the SQL the DuckDB build runs."""


def datediff(first_date, second_date, datepart):
    return f"date_diff('{datepart}', {first_date}::timestamp, {second_date}::timestamp)"
