"""Tiny hand-made landing files in the real layouts, with known row counts per day."""

from __future__ import annotations

import os
from pathlib import Path

TRANSACTIONS_HEADER = "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country"
EVENTS_HEADER = "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session"


def transaction_lines(day: str, n: int, invoice_prefix: str = "5", customer: int = 12001) -> list[str]:
    """``n`` distinct lines on ``day`` (one invoice, different stock codes)."""
    return [
        f"{invoice_prefix}{day.replace('-', '')},SKU{i:03d},Item {i},{i + 1},{day} 10:{i:02d}:00,2.50,{customer},United Kingdom"
        for i in range(n)
    ]


def event_lines(day: str, n: int, user: int = 12001) -> list[str]:
    return [
        f"{day} 09:{i:02d}:00 UTC,view,{1000 + i},2053013555631882655,electronics.smartphone,acme,9.99,{user},s-{day}-{user}"
        for i in range(n)
    ]


def write(root: Path, rel: str, header: str, lines: list[str], mtime_ns: int | None = None) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def write_dimensions(root: Path) -> None:
    write(
        root,
        "customers/customers.csv",
        "customer_id,full_name,email,birth_date,income,household_size,signup_date,channel,country",
        [
            "12001,Ann Example,ann@example.com,1980-01-01,50000,2,2023-06-01,web,United Kingdom",
            "12002,Bob Example,bob@example.com,1975-05-05,42000,3,2023-07-01,store,France",
        ],
    )
    write(
        root,
        "products/products.csv",
        "stock_code,product_id,description,category,brand,list_price",
        [f"SKU{i:03d},{1000 + i},Item {i},electronics,acme,2.50" for i in range(10)],
    )
