"""CLI: ``python -m devtools.generator --out DIR --scale 0.01 --seed 42``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import MAX_SCALE, generate


def _scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.001 <= value <= MAX_SCALE:
        raise argparse.ArgumentTypeError(f"must be between 0.001 and {MAX_SCALE:g}, got {text}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.generator",
        description="Generate a deterministic synthetic online shop (2024-01-01 .. 2025-12-31) as landing files: "
        "transactions/*.csv.gz, events/*.csv.gz, customers/customers.csv, products/products.xlsx.",
    )
    parser.add_argument("--out", required=True, type=Path, help="output (landing) folder; created if missing")
    parser.add_argument(
        "--scale",
        type=_scale,
        default=1.0,
        help="size factor: 1 = ~5,000 customers, ~1M order lines, ~2.5M events (default 1)",
    )
    parser.add_argument("--seed", type=_seed, default=42, help="random seed (default 42)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out {args.out} exists and is not a folder")
    try:
        manifest = generate(args.out, scale=args.scale, seed=args.seed, progress=None if args.quiet else print)
    except OSError as exc:
        print(f"error: cannot write to {args.out}: {exc}", file=sys.stderr)
        return 1
    t = manifest["totals"]
    print(
        f"wrote {t['transactions']['rows_written']:,} transaction rows, {t['events']['rows_written']:,} event rows, "
        f"{manifest['n_customers']:,} customers, {manifest['n_products']:,} products to {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
