"""Incremental refreshes leave exactly what a full rebuild makes.

A small shop (seeded, 40 customers, 8 days) is built in full; then six landing-sensor
refreshes are executed as the daemon would run them:

1. a new day, with a session and an invoice that started before midnight, sessions
   derived from a user's events without one (numbered over the user's history, one across
   midnight), and that user's first purchase (every earlier event of theirs now points to
   the customer);
2. a late transactions file for an old day, which moves customers' first orders;
3. replaced files: the new day corrected (a line dropped, a quantity changed, a customer's
   only order removed, with the only sale of a product, the day's line of an invoice begun
   before midnight, the anonymous user's purchase, whose events point to the unknown
   customer again; a session's event, a one-day visitor's every event and another user's
   every event of that day removed);
4. a cancellation of an old invoice, on a new day (with events of users seen before);
5. late events for an old day;
6. a products file that moves a product to another category (the marts' every day moves).

Each refresh is checked to be incremental where it should be (its window; the marts windowed
only when its files carry days). At the end every table of ``intermediate``, ``marts`` and
``bi`` is compared with a full rebuild of the same raw data: the same columns, and the same
rows as a multiset (EXCEPT ALL both ways), so money is equal to the cent.

The first refresh runs exactly as the sensor asks, with its checks: three dbt steps, only
the new day, no re-parse, no unit tests, every planned check evaluated and passed, the BI
copy showing the day. The others leave dbt's data tests out (they change no table). After
each new day (1 and 4), the per-product sales totals and the users' overall clickstream rows
are also compared with the facts added up at that point, since a later refresh that
recomputes a key would hide an error of the appending path. Last,
a staging test in a sensor run reads only the rows that run ingested, and outside a sensor
run every row.
"""

from __future__ import annotations

import random
import shutil

import dagster as dg
import duckdb
import pytest

from devtools.engine_parity import compare
from ecom_platform.config import DBT_PROJECT_DIR
from tests.conftest import step_failures, use_environment
from tests.shop_files import EVENTS_HEADER, TRANSACTIONS_HEADER, write

pytestmark = pytest.mark.integration

DAYS = [f"2024-01-{d:02d}" for d in range(1, 13)]  # 01..08 in the first build, later ones refresh
CUSTOMERS = list(range(13001, 13041))
COUNTRIES = ["United Kingdom", "France", "Germany"]
SKUS = [(f"SKU{i:03d}", 2000 + i, "kitchen" if i % 2 else "garden", round(1.25 + i * 0.75, 2)) for i in range(12)]
CUSTOMERS_HEADER = "customer_id,full_name,email,birth_date,income,household_size,signup_date,channel,country"
PRODUCTS_HEADER = "stock_code,product_id,description,category,brand,list_price"
ANONYMOUS = 13070  # a user whose events come without a user_session
MIDNIGHT_INVOICE = "599001,{code},{code} item,2,{day} {time}:00,2.75,{customer},{country}"


def _country(customer: int) -> str:
    return COUNTRIES[customer % 3]


def _invoice(number: str, day: str, customer: int, rng: random.Random, hour: int) -> list[str]:
    lines = []
    for n, (code, _pid, _cat, price) in enumerate(rng.sample(SKUS, rng.randint(1, 3))):
        qty = rng.randint(1, 6)
        lines.append(
            f"{number},{code},{code} item,{qty},{day} {hour:02d}:{10 + n:02d}:00,{price},{customer},{_country(customer)}"
        )
    return lines


def _day_transactions(day: str, rng: random.Random, customers: list[int], prefix: str) -> list[str]:
    lines = []
    for k, customer in enumerate(customers):
        lines += _invoice(f"{prefix}{k:02d}", day, customer, rng, 9 + k % 9)
    return lines


def _session(day: str, user: int, session: str, rng: random.Random, start_hour: int, start_min: int) -> list[str]:
    out = []
    for n in range(rng.randint(2, 5)):
        code, pid, cat, price = rng.choice(SKUS)
        kind = "purchase" if n == 3 else ("cart" if n == 2 else "view")
        out.append(
            f"{day} {start_hour:02d}:{start_min + n:02d}:00 UTC,{kind},{pid},77,{cat}.tools,acme,{price},{user},{session}"
        )
    return out


def _day_events(day: str, rng: random.Random, users: list[int], tag: str = "") -> list[str]:
    out = []
    for k, user in enumerate(users):
        out += _session(day, user, f"s{tag}-{day}-{user}", rng, 8 + k % 12, 5)
    return out


def _without_session(day: str, times: list[str], user: int = ANONYMOUS) -> list[str]:
    """Events without a user_session: their sessions are derived (a gap of 30 minutes)."""
    return [f"{day} {t}:00 UTC,view,2001,77,kitchen.tools,acme,2.00,{user}," for t in times]


def _products(moved: str | None = None) -> list[str]:
    rows = []
    for code, pid, cat, price in SKUS:
        category = "toys" if code == moved else cat
        rows.append(f"{code},{pid},{code} item,{category},acme,{price}")
    return rows


def _execute(defs, instance, keys, tags, check_keys=None, must_succeed=True):
    """The run of ``keys`` with ``check_keys``; without them, the tables only: dbt's data
    and unit tests left out (the ingestion assets' own checks stay: such an asset cannot
    run without them)."""
    selection = dg.AssetSelection.assets(*keys).without_checks()
    if check_keys is None:
        tags = {"ecom/dbt_unit_tests": "off", **tags}
        selection |= dg.AssetSelection.assets(*[k for k in keys if not defs.resolve_assets_def(k).can_subset])
    else:
        selection |= dg.AssetSelection.checks(*check_keys)
    job = dg.define_asset_job("exactness_test", selection=selection).resolve(asset_graph=defs.resolve_asset_graph())
    result = job.execute_in_process(
        instance=instance,
        tags={"ecom/column_metadata": "off", **tags},
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
    )
    if must_succeed:
        assert result.success, step_failures(result)
    return result


def test_six_refreshes_equal_a_full_rebuild(tmp_path, monkeypatch, dbt_manifest):
    from ecom_platform.definitions import build_defs
    from ecom_platform.defs import automation

    rng = random.Random(7)
    settings = use_environment(monkeypatch, tmp_path)
    landing = settings.landing_dir
    write(
        landing,
        "customers/customers.csv",
        CUSTOMERS_HEADER,
        [f"{c},Customer {c},c{c}@example.com,1980-01-01,50000,2,2023-06-01,web,{_country(c)}" for c in CUSTOMERS],
    )
    write(landing, "products/products.csv", PRODUCTS_HEADER, _products())
    # days 1..8: 6 invoices a day among the first 30 customers (10 more buy later), events of
    # 8 users; customer 35 buys once, on day 8 (a later refresh moves that first order)
    users_seen: set[int] = set()
    day_lines: dict[str, list[str]] = {}
    for i, day in enumerate(DAYS[:8]):
        buyers = rng.sample(CUSTOMERS[:30], 6) + ([CUSTOMERS[34]] if day == DAYS[7] else [])
        day_lines[day] = _day_transactions(day, rng, buyers, f"5{i + 1:02d}")
        if day == DAYS[7]:  # an invoice that crosses midnight: its second line is on day 9
            day_lines[day].append(
                MIDNIGHT_INVOICE.format(
                    day=day, time="23:59", code="SKU002", customer=CUSTOMERS[0], country=_country(CUSTOMERS[0])
                )
            )
        write(landing, f"transactions/{day}.csv", TRANSACTIONS_HEADER, day_lines[day])
        users = rng.sample(CUSTOMERS, 8)
        users_seen.update(users)
        events = _day_events(day, rng, users)
        if day == DAYS[7]:  # a session that crosses midnight into day 9
            events += _session(day, 13005, "s-midnight", rng, 23, 50)
        if day in (DAYS[6], DAYS[7]):  # derived sessions: 1 on day 7, 2 from day 8 23:50 (into day 9)
            events += _without_session(day, ["10:00", "10:10"] if day == DAYS[6] else ["23:50"])
        write(landing, f"events/{day}.csv", EVENTS_HEADER, events)

    defs = build_defs(settings)
    graph = defs.resolve_asset_graph()
    instance = dg.DagsterInstance.ephemeral()
    sensor = defs.resolve_sensor_def("landing_sensor")
    resources = {"landing": defs.resources["landing"], "warehouse": defs.resources["warehouse"]}
    sel = automation.REFRESH_SELECTION
    everything = [k for k in sel.resolve(graph) if graph.get(k).is_executable]

    def tick(cursor):
        with dg.build_sensor_context(instance=instance, definitions=defs, resources=resources, cursor=cursor) as ctx:
            return sensor.evaluate_tick(ctx)

    _execute(defs, instance, everything, {})
    cursor = tick(tick(None).cursor).cursor  # the sensor adopts what the full build loaded

    def states_add_up():
        """The per-product sales totals, the users' overall clickstream rows, the products'
        event prices and the stock codes' line prices equal the facts added up now (a later
        refresh may recompute a key and hide an error)."""
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:

            def same_rows(a, b):
                assert con.execute(f"{a} EXCEPT ALL {b}").fetchall() == []
                assert con.execute(f"{b} EXCEPT ALL {a}").fetchall() == []

            totals = "SELECT product_key, revenue, units, orders, customers, first_day, last_day FROM {}"
            direct = (
                "(SELECT product_key, sum(net_amount) AS revenue, sum(quantity) AS units, "
                "count(DISTINCT invoice) FILTER (WHERE NOT is_cancellation) AS orders, "
                "count(DISTINCT customer_id) FILTER (WHERE NOT is_cancellation) AS customers, "
                "min(invoice_day) AS first_day, max(invoice_day) AS last_day "
                "FROM marts.fct_order_lines WHERE is_merchandise GROUP BY product_key)"
            )
            same_rows(totals.format("intermediate.int_products__sales_totals"), totals.format(direct))
            overall = (
                "SELECT user_id, interactions, views, carts, purchases, purchase_revenue, first_day, last_day FROM {}"
            )
            users = (
                "(SELECT user_id, count(*) AS interactions, count(*) FILTER (WHERE event_type = 'view') AS views, "
                "count(*) FILTER (WHERE event_type = 'cart') AS carts, "
                "count(*) FILTER (WHERE event_type = 'purchase') AS purchases, "
                "coalesce(sum(price) FILTER (WHERE event_type = 'purchase'), 0) AS purchase_revenue, "
                "min(event_day) AS first_day, max(event_day) AS last_day FROM marts.fct_events GROUP BY user_id)"
            )
            same_rows(
                overall.format("intermediate.int_events__user_breakdowns WHERE breakdown = 'overall'"),
                overall.format(users),
            )
            same_rows(
                "SELECT product_id, category, price, n_events, first_day, last_day "
                "FROM intermediate.int_events__product_prices",
                "SELECT product_id, category, price, count(*), min(event_day), max(event_day) "
                "FROM marts.fct_events GROUP BY ALL",
            )
            same_rows(
                "SELECT stock_code, description, unit_price, is_sale, n_lines, is_merchandise, first_sold_at, "
                "last_sold_at, first_day, last_day FROM intermediate.int_products__line_prices",
                "SELECT stock_code, description, unit_price, NOT is_cancellation AND unit_price > 0, count(*), "
                "bool_and(is_merchandise), min(invoice_date), max(invoice_date), min(invoice_day), max(invoice_day) "
                "FROM intermediate.int_retail__order_lines GROUP BY ALL",
            )

    def anonymous_keys():
        """What the anonymous user's events point to: their customer, the unknown one."""
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            rows = con.execute(
                "SELECT DISTINCT CASE WHEN e.customer_key = c.customer_key THEN 'customer' "
                "WHEN e.customer_key = -1 THEN 'unknown' ELSE 'other' END FROM marts.fct_events AS e "
                "LEFT JOIN marts.dim_customers AS c ON c.customer_id = e.user_id "
                f"WHERE e.user_id = {ANONYMOUS}"
            ).fetchall()
        return {r[0] for r in rows}

    def refresh(expect_range: tuple[str, str] | None, marts_windowed: bool, with_checks: bool = False):
        nonlocal cursor
        first = tick(cursor)
        assert not first.run_requests  # a file must look the same twice
        second = tick(first.cursor)
        (request,) = second.run_requests
        cursor = second.cursor
        tags = dict(request.tags)
        if expect_range is not None:
            window = (tags["ecom/window_start"], tags["ecom/window_end"])
            assert window == expect_range
        assert (tags.get("ecom/dbt_windowed_marts") == "on") is marts_windowed
        assert tags["ecom/dbt_tests_scope"] == "new_rows"
        checks = request.asset_check_keys if with_checks else None
        result = _execute(defs, instance, request.asset_selection, tags, check_keys=checks)
        commands = [m.message for m in instance.all_logs(result.run_id) if "Running dbt command" in (m.message or "")]
        assert commands and not any("--full-refresh" in c or "--vars" in c for c in commands)
        return request, result

    # 1. a new day; the midnight session continues into it
    day9 = _day_transactions(DAYS[8], rng, rng.sample(CUSTOMERS[:30], 5) + [CUSTOMERS[30]], "509")
    day9.append(day9[2])  # an exact duplicate line in the new file: counted once
    # a product sold on day 9 only, in customer 31's order (the correction below removes it)
    only9 = next(line for line in day9 if f",{CUSTOMERS[30]}," in line).split(",")
    only9[1:3] = ["SKU099", "SKU099 item"]
    day9.append(",".join(only9))
    # (the same product as its day-8 line: counted once in the product's orders and customers)
    after_midnight = MIDNIGHT_INVOICE.format(
        day=DAYS[8], time="00:01", code="SKU002", customer=CUSTOMERS[0], country=_country(CUSTOMERS[0])
    )
    day9.append(after_midnight)
    # the anonymous visitor's first purchase: a customer now, every earlier event of theirs
    # gets the customer key (the correction below takes it back, day 10 buys again)
    visitor_buys = f"509900,SKU004,SKU004 item,1,{DAYS[8]} 15:00:00,4.25,{ANONYMOUS},United Kingdom"
    day9.append(visitor_buys)
    write(landing, f"transactions/{DAYS[8]}.csv", TRANSACTIONS_HEADER, day9)
    midnight = [f"{DAYS[8]} 00:{m:02d}:00 UTC,view,2001,77,kitchen.tools,acme,2.00,13005,s-midnight" for m in (5, 20)]
    # visitor 13060 has events on day 9 only (the correction below removes them all)
    visitor = _session(DAYS[8], 13060, "s-visitor", rng, 12, 0)
    # the anonymous user's derived session 2 goes on past midnight, then sessions 3 and 4
    anonymous9 = _without_session(DAYS[8], ["00:05", "09:00", "09:20", "11:00"])
    events9 = _day_events(DAYS[8], rng, rng.sample(CUSTOMERS, 6)) + midnight + visitor + anonymous9
    write(landing, f"events/{DAYS[8]}.csv", EVENTS_HEADER, events9)
    request, result = refresh((DAYS[8], DAYS[8]), marts_windowed=True, with_checks=True)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        derived = con.execute(
            "SELECT strftime(event_time, '%d %H:%M'), session_id FROM marts.fct_events "
            f"WHERE user_id = {ANONYMOUS} ORDER BY event_time"
        ).fetchall()
    n = f"derived:{ANONYMOUS}:"
    assert derived == [
        ("07 10:00", n + "1"), ("07 10:10", n + "1"), ("08 23:50", n + "2"),
        ("09 00:05", n + "2"), ("09 09:00", n + "3"), ("09 09:20", n + "3"), ("09 11:00", n + "4"),
    ]  # fmt: skip
    assert dg.AssetKey(["ml", "churn_scores"]) not in request.asset_selection
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        sold_once = con.execute("SELECT orders FROM marts.product_bestsellers WHERE stock_code = 'SKU099'").fetchall()
    assert sold_once == [(1,)]
    states_add_up()  # a new day: the states' appending path
    assert anonymous_keys() == {"customer"}
    messages = [e.message for e in instance.all_logs(result.run_id) if e.message]
    commands = [m for m in messages if "Running dbt command" in m]
    (command,) = commands  # one dbt build: staging to the BI layer
    assert "--exclude-resource-type unit_test" in command
    assert f"day window {DAYS[8]} .. {DAYS[9]} (end exclusive) for the daily facts" in " ".join(messages)
    evaluated = result.get_asset_check_evaluations()
    assert {(e.asset_key, e.check_name) for e in evaluated} == {(c.asset_key, c.name) for c in request.asset_check_keys}
    assert [e.check_name for e in evaluated if not e.passed] == []
    with duckdb.connect(str(settings.bi_dir / "ecom_bi.duckdb"), read_only=True) as con:
        bi_days = {str(r[0]) for r in con.execute("SELECT sales_date FROM bi.sales_daily").fetchall()}
    assert DAYS[8] in bi_days and DAYS[9] not in bi_days
    midnight_invoice = "SELECT n_lines, CAST(invoice_day AS VARCHAR), CAST(last_line_day AS VARCHAR) FROM marts.fct_orders WHERE invoice = '599001'"
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        assert con.execute(midnight_invoice).fetchall() == [(2, DAYS[7], DAYS[8])]
    # fct_orders' reconciliation with its lines checked the invoices the window touched; on
    # a copy where one of them is a penny off, the same SQL finds it
    (reconciles,) = (DBT_PROJECT_DIR / "target").glob(
        f"dbt_models-{result.run_id[:7]}-*/run/**/assert_fct_orders_net_equals_sum_of_lines.sql"
    )
    sql = reconciles.read_text()
    assert "where invoice in (select touched.invoice from touched)" in sql
    planted = tmp_path / "planted" / settings.warehouse_path.name  # the same catalog name
    planted.parent.mkdir()
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("CHECKPOINT")
    shutil.copy(settings.warehouse_path, planted)
    with duckdb.connect(str(planted)) as con:
        assert con.execute(sql).fetchone()[0] == 0
        con.execute("UPDATE marts.fct_orders SET net_amount = net_amount + 0.01 WHERE invoice = '599001'")
        assert con.execute(sql).fetchone()[0] == 1  # dbt's failure count

    # 2. a late file for day 2: customers 32..33 buy for the first time, and the first orders
    # of customer 31 (day 9) and customer 35 (day 8, a day no later refresh touches) move to
    # day 2: kpi_sales_country_daily's new_customers must leave days 8 and 9
    late = _day_transactions(DAYS[1], rng, [*CUSTOMERS[30:33], CUSTOMERS[34]], "602")
    # and an exact copy of a line an earlier file holds: of the two, the copy of the file
    # with the smaller sha256 is kept, which may now be the new one
    late.append(day_lines[DAYS[1]][0])
    write(landing, f"transactions/{DAYS[1]}-late.csv", TRANSACTIONS_HEADER, late)
    refresh((DAYS[1], DAYS[1]), marts_windowed=True)

    # 3. day 9 corrected under the same names: a line dropped, a quantity changed, and the
    # only order of customer 31 on that day removed (its first order stays on day 2); in the
    # events, the midnight session loses one of its day-9 events, visitor 13060 (a user and
    # a session with no other events) disappears, and so does a derived session's event
    corrected = [
        line for line in day9[1:] if f",{CUSTOMERS[30]}," not in line and line not in (after_midnight, visitor_buys)
    ]
    fields = corrected[0].split(",")
    fields[3] = str(int(fields[3]) + 10)
    corrected[0] = ",".join(fields)
    write(landing, f"transactions/{DAYS[8]}.csv", TRANSACTIONS_HEADER, corrected)
    # and a user with events on earlier days loses every event of day 9
    gone = next(u for u in sorted({int(e.split(",")[-2]) for e in events9}) if u in users_seen and u != 13005)
    events9 = [
        e
        for e in events9
        if e not in visitor and e not in (midnight[1], anonymous9[2]) and int(e.split(",")[-2]) != gone
    ]
    write(landing, f"events/{DAYS[8]}.csv", EVENTS_HEADER, events9)
    refresh((DAYS[8], DAYS[8]), marts_windowed=True)
    # the invoice that crossed midnight lost its day-9 line: its day-8 row is recomputed
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        assert con.execute(midnight_invoice).fetchall() == [(1, DAYS[7], DAYS[7])]
    assert anonymous_keys() == {"unknown"}  # no purchase left: the unknown customer again

    # 4. day 10 with the cancellation of a day-1 invoice (every line, negative quantities)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        old = con.execute(
            "SELECT invoice, stock_code, quantity, unit_price, customer_id FROM marts.fct_order_lines "
            "WHERE invoice_day = DATE '2024-01-01' AND NOT is_cancellation ORDER BY invoice, stock_code LIMIT 3"
        ).fetchall()
    invoice = old[0][0]
    cancellation = [
        f"C{invoice},{code},{code} item,{-qty},{DAYS[9]} 15:00:00,{price},{cust},{_country(cust)}"
        for inv, code, qty, price, cust in old
        if inv == invoice
    ]
    day10 = _day_transactions(DAYS[9], rng, rng.sample(CUSTOMERS, 4), "510") + cancellation
    day10.append(visitor_buys.replace("509900", "510900").replace(DAYS[8], DAYS[9]))
    write(landing, f"transactions/{DAYS[9]}.csv", TRANSACTIONS_HEADER, day10)
    # and events of users seen before (their user state grows by this day's)
    write(landing, f"events/{DAYS[9]}.csv", EVENTS_HEADER, _day_events(DAYS[9], rng, sorted(users_seen)[:4]))
    refresh((DAYS[9], DAYS[9]), marts_windowed=True)
    states_add_up()

    # 5. late events for day 3: a session of a new visitor and more of an existing one
    write(
        landing,
        f"events/{DAYS[2]}-late.csv",
        EVENTS_HEADER,
        _day_events(DAYS[2], rng, [13039, 13002], tag="late"),
    )
    refresh((DAYS[2], DAYS[2]), marts_windowed=True)

    # 6. the catalogue moves a product to another category: every day's category figures move
    write(landing, "products/products.csv", PRODUCTS_HEADER, _products(moved=SKUS[1][0]))
    # (no day-carrying rows: today only, and the marts take every day)
    refresh(None, marts_windowed=False)

    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        q = lambda sql: con.execute(sql).fetchall()  # noqa: E731
        # the refreshes did what they say (the comparison below proves them exact)
        assert q("SELECT count(*) FROM marts.fct_order_lines WHERE invoice LIKE 'C%'") == [(len(cancellation),)]
        # the two duplicate lines (day 9 in one file, day 2 across two files) are kept once
        assert q("SELECT n_lines FROM marts.reconciliation_order_lines WHERE step_type = 'exclusion'") == [(2,)]
        assert q(
            "SELECT CAST(invoice_day AS VARCHAR), count(*) - count(DISTINCT (invoice, stock_code, description, "
            "quantity, invoice_date, unit_price, customer_id, country)) FROM marts.fct_order_lines "
            f"WHERE invoice_day IN ('{DAYS[1]}', '{DAYS[8]}') GROUP BY ALL ORDER BY 1"
        ) == [(DAYS[1], 0), (DAYS[8], 0)]
        midnight_session = q(
            "SELECT n_events, cast(ended_at AS date) FROM marts.fct_sessions WHERE user_session = 's-midnight'"
        )
        assert midnight_session[0][0] >= 3 and str(midnight_session[0][1]) == DAYS[8]
        assert q("SELECT count(*) FROM marts.fct_sessions WHERE user_session = 's-visitor'") == [(0,)]
        assert q("SELECT count(*) FROM intermediate.int_events__user_breakdowns WHERE user_id = 13060") == [(0,)]
        assert q("SELECT count(*) FROM intermediate.int_products__sales_totals WHERE stock_code = 'SKU099'") == [(0,)]
        assert q("SELECT count(*) FROM marts.kpi_sales_category_daily WHERE category = 'toys'")[0][0] > 0
        assert (
            q(f"SELECT sum(new_customers) FROM marts.kpi_sales_country_daily WHERE sales_day = DATE '{DAYS[1]}'")[0][0]
            >= 4
        )
    incremental = tmp_path / "incremental.duckdb"
    shutil.copy(settings.warehouse_path, incremental)
    wal = settings.warehouse_path.with_name(settings.warehouse_path.name + ".wal")
    if wal.exists():
        shutil.copy(wal, incremental.with_name(incremental.name + ".wal"))

    full = _execute(defs, instance, everything, {})
    full_commands = [e.message for e in instance.all_logs(full.run_id) if "Running dbt command" in (e.message or "")]
    assert full_commands and all("--full-refresh" in c for c in full_commands)
    results = compare(incremental, settings.warehouse_path, schemas=("intermediate", "marts", "bi"))
    assert len(results) >= 30
    assert [r.describe() for r in results if not r.equal] == []

    # A sensor run's staging tests check the rows that run ingested (older rows were checked
    # when they arrived); any other run checks every row. An old raw row that breaks a
    # staging test (written behind ingestion's back, which rejects such rows from files):
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("""INSERT INTO raw.events SELECT * REPLACE ('teleport' AS event_type, 'x' AS _file_sha256)
                       FROM raw.events LIMIT 1""")
    write(landing, f"events/{DAYS[10]}.csv", EVENTS_HEADER, _day_events(DAYS[10], rng, [13001, 13002]))
    check = "accepted_values_stg_shop__events_event_type__view__cart__remove_from_cart__purchase"

    def event_type_check(result):
        (ev,) = [e for e in result.get_asset_check_evaluations() if e.check_name == check]
        return ev.passed, ev.metadata["dagster_dbt/failed_row_count"].value

    _, sensor_run = refresh((DAYS[10], DAYS[10]), marts_windowed=True, with_checks=True)
    assert event_type_check(sensor_run) == (True, 0)  # its new rows are fine
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        # the planted row is on an older day, outside the run's window: not in the facts
        assert con.execute("SELECT count(*) FROM marts.fct_events WHERE event_type = 'teleport'").fetchone() == (0,)
    staging = dg.AssetKey(["staging", "stg_shop__events"])
    own_checks = list(dg.AssetSelection.assets(staging).resolve_checks(graph))
    rerun = _execute(defs, instance, [staging], {}, check_keys=own_checks, must_succeed=False)
    assert event_type_check(rerun) == (False, 1)  # outside a sensor run: every row
