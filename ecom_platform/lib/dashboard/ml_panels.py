"""The dashboard's model panels: churn, segments, forecast, recommendations, and each model's verdict."""

from __future__ import annotations

from datetime import timedelta

from ecom_platform.lib.dashboard.charts import (
    PALETTE,
    WIDE,
    _as_date,
    _blend,
    _e,
    _trunc,
    fmt_num,
    fmt_pct,
    fmt_ratio,
    grouped_hbar_chart,
    hbar_chart,
    line_chart,
    vbar_chart,
)
from ecom_platform.lib.dashboard.panels import Panel, _Ctx, _need, _qi, _weekly_sales


def panels_ml(ctx: _Ctx) -> list[Panel]:
    out = []
    # --- churn risk
    churn = Panel(
        "churn_risk",
        "Churn risk",
        "ml.churn_scores",
        "Customers by predicted probability of not ordering in the next period.",
    )
    pcol = ctx.pick("ml.churn_scores", "churn_probability", "probability", "churn_score", "score")
    if _need(ctx, churn, "ml.churn_scores", columns={"ml.churn_scores": [pcol or "churn_probability"]}):
        bins = ctx.q(
            f"""SELECT least(CAST(floor({_qi(pcol)} * 10) AS INTEGER), 9) AS b, count(*)
                FROM ml.churn_scores WHERE {_qi(pcol)} IS NOT NULL GROUP BY 1 ORDER BY 1"""
        )
        counts = {int(b): n for b, n in bins}
        labels = [f"{i / 10:.1f}" for i in range(10)]
        vals = [counts.get(i, 0) for i in range(10)]
        colors = [_blend("#22c55e", "#dc2626", i / 9) for i in range(10)]
        churn.svg, churn.points = vbar_chart(
            "churn_risk",
            labels,
            vals,
            colors=colors,
            tooltips=[
                f"probability {i / 10:.1f}–{(i + 1) / 10:.1f}: {fmt_num(v)} customers" for i, v in enumerate(vals)
            ],
            label="Churn probability distribution",
        )
        band = ctx.pick("ml.churn_scores", "risk_band", "band", "risk")
        if band:
            bands = ctx.q(
                f"SELECT {_qi(band)}, count(*), avg({_qi(pcol)}) FROM ml.churn_scores GROUP BY 1 ORDER BY 3 DESC"
            )
            churn.note = (
                '<p class="hint">'
                + " · ".join(f"<b>{_e(b)}</b>: {fmt_num(n)} customers (avg {fmt_pct(a, 0)})" for b, n, a in bands)
                + "</p>"
            )
        churn.subtitle += " x axis: churn probability bin."
    out.append(churn)

    # --- forecast vs actuals
    fc = Panel(
        "forecast_vs_actual",
        "Demand forecast against actuals",
        "ml.demand_forecast",
        "Weekly actuals and the published forecast with its 80% interval.",
        wide=True,
    )
    t = "ml.demand_forecast"
    c_week = ctx.pick(t, "week_start", "week", "date", "ds")
    c_fc = ctx.pick(t, "forecast", "yhat", "prediction", "point_forecast")
    if _need(ctx, fc, t, columns={t: [c_week or "week_start", c_fc or "forecast"]}):
        _forecast_panel(ctx, fc, c_week, c_fc)
    out.append(fc)

    # --- backtest
    bt = Panel(
        "forecast_backtest",
        "Forecast backtest (MASE)",
        "ml.forecast_backtest",
        "Mean absolute scaled error per model over the rolling-origin backtest (lower is better; "
        "1.0 = as good as the naive in-sample forecast).",
    )
    t = "ml.forecast_backtest"
    c_model, c_mase = ctx.pick(t, "model"), ctx.pick(t, "mase", "MASE")
    if _need(ctx, bt, t, columns={t: [c_model or "model", c_mase or "mase"]}):
        where = []
        if ctx.pick(t, "level"):
            lv = [r[0] for r in ctx.q(f"SELECT DISTINCT level FROM {t}")]
            if "overall" in lv:
                where.append("level = 'overall'")
        if ctx.pick(t, "measure"):
            ms = [
                r[0]
                for r in ctx.q(f"SELECT DISTINCT measure FROM {t}" + (" WHERE " + " AND ".join(where) if where else ""))
            ]
            if "all" in ms:
                where.append("measure = 'all'")
            elif "units" in ms:
                where.append("measure = 'units'")
        rows = ctx.q(
            f"""SELECT {_qi(c_model)}, avg({_qi(c_mase)}) FROM {t}
                {"WHERE " + " AND ".join(where) if where else ""} GROUP BY 1 ORDER BY 2"""
        )
        colors = [PALETTE["green"] if i == 0 else PALETTE["grey"] for i in range(len(rows))]
        bt.svg, bt.points = vbar_chart(
            "forecast_backtest",
            [r[0] for r in rows],
            [r[1] for r in rows],
            fmt=fmt_ratio,
            colors=colors,
            ref_line=(1.0, "MASE 1.0"),
            label="Backtest MASE per model",
        )
    out.append(bt)

    # --- model metrics vs baseline
    mm = Panel(
        "model_vs_baseline",
        "Models against their baselines",
        "ml.model_metrics",
        "Primary metric of the latest run of each model beside its baseline's value.",
        wide=True,
    )
    t = "ml.model_metrics"
    need = {t: ["model", "metric", "value"]}
    if _need(ctx, mm, t, columns=need):
        _model_metrics_panel(ctx, mm)
    mm.note = _model_status_table(ctx) + mm.note
    out.append(mm)

    # --- segments
    seg = Panel(
        "ml_segments",
        "Behavioural segments",
        "ml.customer_segments",
        "Customers per clustering segment (ml.customer_segments).",
    )
    t = "ml.customer_segments"
    c_seg = ctx.pick(t, "segment_name", "segment", "cluster_name", "cluster")
    if _need(ctx, seg, t, columns={t: [c_seg or "segment_name"]}):
        rows = ctx.q(f"SELECT CAST({_qi(c_seg)} AS VARCHAR), count(*) FROM {t} GROUP BY 1 ORDER BY 2 DESC, 1")
        seg.svg, seg.points = hbar_chart(
            "ml_segments",
            [r[0] for r in rows],
            [r[1] for r in rows],
            color=PALETTE["teal"],
            label="Customers per segment",
            label_width=170,
        )
        if ctx.has("ml.segment_profiles"):
            seg.note = '<p class="hint">Profiles of each segment: <code>ml.segment_profiles</code>.</p>'
    out.append(seg)

    # --- frequently bought together
    fbt = Panel(
        "frequently_bought_together",
        "Frequently bought together",
        "ml.frequently_bought_together",
        "Top 10 product pairs by lift (how much more often they share a basket than by chance).",
    )
    t = "ml.frequently_bought_together"
    a, b = (
        ctx.pick(t, "stock_code", "product_a", "antecedent"),
        ctx.pick(t, "other_stock_code", "product_b", "consequent"),
    )
    metric = ctx.pick(t, "lift", "confidence", "score", "co_baskets")
    if _need(ctx, fbt, t, columns={t: [a or "stock_code", b or "other_stock_code", metric or "lift"]}):
        names = ""
        if ctx.has("bi.product_bestsellers"):
            names = (
                "LEFT JOIN bi.product_bestsellers pa ON pa.stock_code = CAST(f.{a} AS VARCHAR) "
                "LEFT JOIN bi.product_bestsellers pb ON pb.stock_code = CAST(f.{b} AS VARCHAR)"
            )
            names = names.format(a=_qi(a), b=_qi(b))
            dsc = "coalesce(pa.product_description, CAST(f.{a} AS VARCHAR)), coalesce(pb.product_description, CAST(f.{b} AS VARCHAR))"
        else:
            dsc = "CAST(f.{a} AS VARCHAR), CAST(f.{b} AS VARCHAR)"
        dsc = dsc.format(a=_qi(a), b=_qi(b))
        rows = ctx.q(
            f"""SELECT {dsc}, f.{_qi(metric)} FROM {t} f {names}
                WHERE CAST(f.{_qi(a)} AS VARCHAR) < CAST(f.{_qi(b)} AS VARCHAR)
                   OR NOT EXISTS (SELECT 1 FROM {t} g WHERE g.{_qi(a)} = f.{_qi(b)} AND g.{_qi(b)} = f.{_qi(a)})
                ORDER BY f.{_qi(metric)} DESC NULLS LAST LIMIT 10"""
        )
        fbt.svg, fbt.points = hbar_chart(
            "frequently_bought_together",
            [f"{_trunc(r[0], 18)} + {_trunc(r[1], 18)}" for r in rows],
            [r[2] for r in rows],
            fmt=fmt_ratio if metric in ("lift", "confidence", "score") else fmt_num,
            color=PALETTE["rose"],
            tooltips=[f"{r[0]} + {r[1]}: {metric} {fmt_ratio(r[2])}" for r in rows],
            label="Frequently bought together",
            label_width=290,
        )
        fbt.subtitle = fbt.subtitle.replace("by lift", f"by {metric}")
    out.append(fbt)

    # --- recommendations
    rec = Panel(
        "top_recommended_products",
        "Most recommended products",
        "ml.product_recommendations",
        "Products appearing most often in customers' recommendation lists.",
    )
    t = "ml.product_recommendations"
    c_code = ctx.pick(t, "stock_code", "product_id", "item_id")
    if _need(ctx, rec, t, columns={t: [c_code or "stock_code"]}):
        join = (
            f"LEFT JOIN bi.product_bestsellers p ON p.stock_code = CAST(r.{_qi(c_code)} AS VARCHAR)"
            if ctx.has("bi.product_bestsellers")
            else ""
        )
        label_sql = (
            "coalesce(any_value(p.product_description), CAST(r.{c} AS VARCHAR))" if join else "CAST(r.{c} AS VARCHAR)"
        ).format(c=_qi(c_code))
        rows = ctx.q(
            f"""SELECT {label_sql}, count(*) FROM {t} r {join}
                GROUP BY r.{_qi(c_code)} ORDER BY 2 DESC, 1 LIMIT 10"""
        )
        rec.svg, rec.points = hbar_chart(
            "top_recommended_products",
            [r[0] for r in rows],
            [r[1] for r in rows],
            color=PALETTE["amber"],
            label="Most recommended products",
        )
    out.append(rec)
    return out


def _forecast_panel(ctx: _Ctx, fc: Panel, c_week: str, c_fc: str) -> None:
    t = "ml.demand_forecast"
    c_sid = ctx.pick(t, "series_id", "series")
    c_lo = ctx.pick(t, "lower_80", "lower", "yhat_lower", "lo_80", "lower_bound")
    c_hi = ctx.pick(t, "upper_80", "upper", "yhat_upper", "hi_80", "upper_bound")
    c_model = ctx.pick(t, "model")
    filters = []
    # one model per series (ml.demand_forecast: each series' champion) needs no filter; a
    # table with several models per series shows one of them
    per_series = (
        ctx.q(f"SELECT max(n) FROM (SELECT count(DISTINCT {_qi(c_model)}) n FROM {t} GROUP BY {_qi(c_sid)})")[0][0]
        if c_model and c_sid
        else 2
    )
    if c_model and (per_series or 0) > 1:
        models = [r[0] for r in ctx.q(f"SELECT DISTINCT {_qi(c_model)} FROM {t}")]
        chosen = "lightgbm" if "lightgbm" in models else (models[0] if models else None)
        if chosen is not None and len(models) > 1:
            filters.append(f"{_qi(c_model)} = '{str(chosen).replace(chr(39), chr(39) * 2)}'")
    sid = None
    if c_sid:
        ids = [
            r[0]
            for r in ctx.q(
                f"SELECT {_qi(c_sid)}, sum({_qi(c_fc)}) s FROM {t} GROUP BY 1 ORDER BY (({_qi(c_sid)}) = 'total:revenue') DESC, s DESC"
            )
        ]
        sid = ids[0] if ids else None
        if sid is not None:
            filters.append(f"{_qi(c_sid)} = '{str(sid).replace(chr(39), chr(39) * 2)}'")
    where = ("WHERE " + " AND ".join(filters)) if filters else ""
    lo_sql = f"avg({_qi(c_lo)})" if c_lo else "NULL"
    hi_sql = f"avg({_qi(c_hi)})" if c_hi else "NULL"
    rows = ctx.q(
        f"""SELECT CAST({_qi(c_week)} AS DATE), avg({_qi(c_fc)}), {lo_sql}, {hi_sql} FROM {t} {where}
            GROUP BY 1 ORDER BY 1"""
    )
    fx = [_as_date(r[0]) for r in rows]
    actual_x, actual_y, what = [], [], "actuals not available for this series in the BI copy"
    sid_s = str(sid or "")
    if (sid is None or sid_s == "total:revenue") and ctx.has("bi.sales_daily"):
        weekly = _weekly_sales(ctx)
        actual_x, actual_y = [_as_date(r[0]) for r in weekly], [r[2] for r in weekly]
        what = "actuals: weekly gross merchandise revenue (bi.sales_daily)"
    elif sid_s.startswith("product:") and ctx.has("bi.product_sales_weekly"):
        code = sid_s.split(":", 1)[1]
        weekly = ctx.q(
            "SELECT week_start, sum(net_units) FROM bi.product_sales_weekly WHERE stock_code = ? GROUP BY 1 ORDER BY 1",
            [code],
        )
        actual_x, actual_y = [_as_date(r[0]) for r in weekly], [r[1] for r in weekly]
        what = f"actuals: weekly net units of {code} (bi.product_sales_weekly)"
    # Show the last year of actuals so the forecast horizon stays readable.
    if actual_x and fx:
        start = min(fx) - timedelta(days=371)
        keep = [i for i, d in enumerate(actual_x) if d >= start]
        actual_x, actual_y = [actual_x[i] for i in keep], [actual_y[i] for i in keep]
    series = []
    if actual_x:
        series.append({"label": "actual", "xs": actual_x, "ys": actual_y, "color": PALETTE["ink"]})
    series.append({"label": "forecast", "xs": fx, "ys": [r[1] for r in rows], "color": PALETTE["amber"], "dash": True})
    band = None
    if c_lo and c_hi:
        band = {
            "xs": fx,
            "lo": [r[2] for r in rows],
            "hi": [r[3] for r in rows],
            "color": PALETTE["amber"],
            "label": "80% interval",
        }
    fc.svg, fc.points = line_chart(
        "forecast_vs_actual", [], series, band=band, label="Forecast vs actuals", width=WIDE, height=250
    )
    fc.subtitle += f" Series {sid_s or '(all)'}; {what}."


def _model_status_table(ctx: _Ctx) -> str:
    """One row per model: published or not, and why (ml.model_status)."""
    if not ctx.statuses:
        return ""
    body = "".join(
        f'<tr data-model="{_e(m)}"><td>{_e(m)}</td><td>{"yes" if st.get("published") else "no"}</td>'
        f"<td>{_e(st.get('reason') or '')}</td><td>{_e(st.get('what_would_change_it') or '–')}</td></tr>"
        for m, st in sorted(ctx.statuses.items())
    )
    return (
        '<table class="mini model-status"><thead><tr><th>model</th><th>published</th><th>why</th>'
        f"<th>what would change it</th></tr></thead><tbody>{body}</tbody></table>"
    )


def _model_metrics_panel(ctx: _Ctx, mm: Panel) -> None:
    t = "ml.model_metrics"
    c = {
        k: ctx.pick(t, k)
        for k in (
            "task",
            "model",
            "metric",
            "value",
            "baseline_name",
            "baseline_value",
            "is_primary",
            "run_at",
            "beats_baseline",
            "publishable",
        )
    }

    def col(k: str) -> str:
        return _qi(c[k]) if c[k] else "NULL"

    keys = [_qi(c[k]) for k in ("task", "model", "metric") if c[k]]
    order_run = f"{_qi(c['run_at'])} DESC NULLS LAST" if c["run_at"] else "1"
    where = f"WHERE {_qi(c['is_primary'])}" if c["is_primary"] else ""
    sql = f"""
        WITH ranked AS (
            SELECT {col("task")} AS task, {col("model")} AS model, {col("metric")} AS metric,
                   {col("value")} AS value, {col("baseline_name")} AS baseline_name,
                   {col("baseline_value")} AS baseline_value, {col("beats_baseline")} AS beats,
                   {col("publishable")} AS publishable,
                   row_number() OVER (PARTITION BY {", ".join(keys)}, {col("baseline_name")}
                                      ORDER BY {order_run}) AS rn
            FROM {t} {where})
        SELECT task, model, metric, value, baseline_name, baseline_value, beats, publishable FROM ranked
        WHERE rn = 1 ORDER BY task NULLS LAST, model, metric, baseline_name NULLS FIRST LIMIT 16"""
    rows = ctx.q(sql)
    if not rows and where:
        rows = ctx.q(sql.replace(where, ""))
    labels = [
        " · ".join(str(x) for x in (r[0], r[1], r[2]) if x is not None) + (f" vs {r[4]}" if r[4] is not None else "")
        for r in rows
    ]
    mm.svg, mm.points = grouped_hbar_chart(
        "model_vs_baseline",
        labels,
        [("model", [r[3] for r in rows], PALETTE["blue"]), ("baseline", [r[5] for r in rows], PALETTE["grey"])],
        label="Model metrics against baselines",
        width=WIDE,
        label_width=360,
    )

    def yn(v) -> str:
        return "–" if v is None else ("yes" if v else "no")

    if rows:
        body = "".join(
            f"<tr><td>{_e(lab)}</td><td>{_e(fmt_ratio(r[3]))}</td><td>{_e(fmt_ratio(r[5]))}</td>"
            f"<td>{_e(yn(r[6]))}</td><td>{_e(yn(r[7]))}</td></tr>"
            for lab, r in zip(labels, rows)
        )
        mm.note = (
            '<table class="mini"><thead><tr><th>task · model · metric vs baseline</th><th>value</th>'
            "<th>baseline value</th><th>beats baseline</th><th>published</th></tr></thead>"
            f"<tbody>{body}</tbody></table>"
        )
