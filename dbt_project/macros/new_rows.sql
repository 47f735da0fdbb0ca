{#-
    Tests on new rows only, in the landing sensor's runs.

    The staging views of the raw sources (models tagged `new_rows_tests`) only rename and
    cast raw rows, so a row passes their tests or not whatever else the table holds (their
    key, `_file_sha256` + `_row_number`, cannot collide across files: ingestion never loads
    the same bytes twice). When Dagster sets ECOM_DBT_NEW_ROWS_RUN_ID (a landing-sensor run,
    tag ecom/dbt_tests_scope=new_rows), their generic tests read only the rows that run
    ingested (`_run_id`), so a refresh checks the new data instead of re-reading the whole
    history; every other build (make run, schedules, a plain `dbt build`) checks
    every row. Read only while executing, so the parsed manifest never depends on it.

    The same for the day window (`window_rows_predicate`): a model whose config names
    `meta: {tests_day_column: <day column>}` (the daily facts and int_retail__order_lines,
    rebuilt by day) has its row tests (not_null, not_null_columns, accepted_values,
    expression_is_true) and its unique tests read only the window's rows when a day window
    is set: the rows outside it are the ones an earlier build wrote and tested, unchanged
    since, and their unique key is computed from the raw row's file sha256 and row number,
    so a row of the window cannot share it with a row of another day (one raw row has one
    day). Tests that compare with
    another model (relationships) still read every row: a dimension rebuilt this run could
    lose a key an old row uses (but for fct_events' two keys kept in dbt_state:
    generic_tests/relationships.sql). A build without a window tests every row.

    The key-maintained models (keyed_window.sql) likewise: a model whose config names
    `meta: {tests_key: {column, first_day, last_day}}` has its unique tests that include
    that key column (unique, unique_combination_of_columns) read only the rows of the keys
    whose rows overlap the window (`key_rows_predicate`), when the model marked itself in
    this dbt invocation as rebuilt for those keys only (post-hook mark_keyed_window: not on
    a first build, a --full-refresh, or Spark, where every key is rebuilt). A windowed build
    replaces every row of a touched key (delete+insert on the key), so two rows sharing
    that key were both written by it; the other keys' rows are unchanged since a build
    that tested them. A key recomputed because its old rows overlapped the window, and
    whose new rows no longer do (every event of it in the window removed by a corrected
    file), is not re-read: its rows come from events an earlier build already tested, and
    the nightly full build tests every row.

    dbt wraps the model of every generic test in get_where_subquery; this is its DuckDB
    implementation: the test's own `where` config as dbt does, plus the new-rows, the
    day-window and the key predicates.
-#}
{% macro duckdb__get_where_subquery(relation) -%}
    {{ return(ecom_platform.where_subquery_with_new_rows(relation)) }}
{%- endmacro %}

{#- the same on Spark (dbt's default would drop the new-rows predicate) -#}
{% macro spark__get_where_subquery(relation) -%}
    {{ return(ecom_platform.where_subquery_with_new_rows(relation)) }}
{%- endmacro %}

{% macro where_subquery_with_new_rows(relation) -%}
    {%- set predicates = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do predicates.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set new_rows = new_rows_predicate(relation) -%}
    {%- if new_rows -%}
        {%- do predicates.append(new_rows) -%}
    {%- endif -%}
    {%- set window_rows = window_rows_predicate(relation) -%}
    {%- if window_rows -%}
        {%- do predicates.append(window_rows) -%}
    {%- endif -%}
    {%- set key_rows = key_rows_predicate(relation) -%}
    {%- if key_rows -%}
        {%- do predicates.append(key_rows) -%}
    {%- endif -%}
    {%- if predicates -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ predicates | join(' and ') }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{% macro new_rows_predicate(relation) -%}
    {%- if not execute or relation.identifier is not defined -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set run_id = env_var('ECOM_DBT_NEW_ROWS_RUN_ID', '') -%}
    {%- if not run_id -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set node = model_of_relation(relation) -%}
    {%- if node is not none and 'new_rows_tests' in node.tags -%}
        {%- do return("_run_id = '" ~ (run_id | replace("'", "''")) ~ "'") -%}
    {%- endif -%}
    {%- do return(none) -%}
{%- endmacro %}

{#- the generic tests a day window scopes: each reads one row at a time (unique: one key,
    which cannot repeat across days) -#}
{% macro window_rows_predicate(relation) -%}
    {%- if not execute or relation.identifier is not defined -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set test_name = (model.get('test_metadata') or {}).get('name') -%}
    {%- if test_name not in ['not_null', 'not_null_columns', 'accepted_values', 'expression_is_true', 'unique'] -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set node = model_of_relation(relation) -%}
    {%- set day_column = (node.config.meta or {}).get('tests_day_column') if node is not none else none -%}
    {%- if not day_column -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set predicate = day_window_predicate(day_column) | trim -%}
    {%- do return(none if predicate == 'true' else predicate) -%}
{%- endmacro %}

{#- the unique tests a key window scopes, when their columns include the key (a row test
    such as not_null_columns is not scoped: its NULL counts skip, from the columns'
    statistics, every row group without NULLs, which a semi-join on the touched keys
    cannot) -#}
{% macro key_rows_predicate(relation) -%}
    {%- if not execute or relation.identifier is not defined or target.type != 'duckdb' -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set test = model.get('test_metadata') or {} -%}
    {%- set kwargs = test.get('kwargs') or {} -%}
    {%- if test.get('name') == 'unique' -%}
        {%- set columns = [kwargs.get('column_name')] -%}
    {%- elif test.get('name') == 'unique_combination_of_columns' -%}
        {%- set columns = kwargs.get('combination_of_columns') or [] -%}
    {%- else -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set node = model_of_relation(relation) -%}
    {%- set key = (node.config.meta or {}).get('tests_key') if node is not none else none -%}
    {%- if not key or key.column not in columns or not keyed_window_marked(relation) -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- do return(
        key.column ~ " in (select " ~ key.column ~ " from " ~ relation
        ~ " where " ~ (rows_overlapping_window(key.first_day, key.last_day) | trim) ~ ")"
    ) -%}
{%- endmacro %}

{#- the model node (from the graph) that `relation` is built by, or none: one of the test's
    own parents first (a test reads its models), any model otherwise -#}
{% macro model_of_relation(relation) -%}
    {%- for unique_id in (model.get('depends_on') or {}).get('nodes') or [] -%}
        {%- set node = graph.nodes.get(unique_id) -%}
        {%- if node is not none and node.resource_type == 'model'
              and (node.schema | lower) == (relation.schema | lower)
              and ((node.alias or node.name) | lower) == (relation.identifier | lower) -%}
            {%- do return(node) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model'
              and (node.schema | lower) == (relation.schema | lower)
              and ((node.alias or node.name) | lower) == (relation.identifier | lower) -%}
            {%- do return(node) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do return(none) -%}
{%- endmacro %}
