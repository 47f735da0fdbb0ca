"""For sqlfluff only (make lint renders the models with Jinja, without dbt): dbt's
``adapter.dispatch`` resolved to the ``default__`` macro, i.e. the DuckDB form, so the linted
SQL is what the DuckDB build runs."""

import jinja2


@jinja2.pass_context
def dispatch(context, name, macro_namespace=None):
    return context[f"default__{name}"]
