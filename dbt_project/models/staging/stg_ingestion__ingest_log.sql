-- The ingest audit log (one row per landing file and ingestion attempt, written by the
-- Python ingestion, not dbt): renamed, nothing filtered. It exists so that the log's rules
-- are dbt tests on a model, which Dagster runs as asset checks of this view (a test on the
-- raw source would not be one: no model read the log).
with

ingest_log as (

    select * from {{ source('raw', 'ingest_log') }}

),

renamed as (

    select
        source,
        file_name,
        file_sha256,
        file_bytes,
        rows_read,
        rows_accepted,
        rows_rejected,
        status,
        error,
        run_id,
        started_at,
        finished_at

    from ingest_log

)

select * from renamed
