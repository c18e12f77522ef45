"""Dashboard pages at 100k rows next to the same pages at 100 rows.

    .venv/bin/python bench/pages.py [--rows 100000] [--small 100] [--repeat 15] [--tree PATH]

Two teams in one throwaway database (SQLite, or BENCH_DATABASE_URL for PostgreSQL): a small
one with `--small` ledger entries, generations and products, a big one with `--rows` of
each, spread over the last year. Each page is fetched through Django's full stack (the
test client, signed in as the team's owner), small and big interleaved, `--repeat` times;
the median is compared. Goal (issue 10): each page at 100k rows ≤ 2x its time at 100 rows.
Also prints the query plan of each page's main query on the big team (EXPLAIN), to check
that indexes carry them. `--tree` measures another checkout with the same script.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

GOAL = 2.0


def build(rows: int, small: int) -> dict[str, object]:
    from django.utils import timezone
    from PIL import Image

    from catalog import services as catalog
    from catalog.models import Product
    from generations import engine, services
    from generations.models import Generation
    from studio.accounts import credits
    from studio.accounts import services as accounts
    from studio.accounts.models import Bucket, LedgerEntry, LedgerKind, User

    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 40, 160)).save(buffer, "JPEG")
    photo = buffer.getvalue()
    now = timezone.now()
    teams = {}
    for label, n in (("small", small), ("big", rows)):
        user = User.objects.create_user(f"{label}-{time.time_ns()}@bench.local", "bench-pw-123")
        team = accounts.create_team(f"Pages {label}", user)
        credits.grant(team, 10_000_000, bucket=Bucket.PACK)
        first = services.start_generation(team, user, "image", {"prompt": "a quiet harbour"})
        engine.submit(first.generation.pk)
        model = Generation.objects.get(pk=first.generation.pk)
        product = catalog.create_product(
            team, user, catalog.check_upload(photo), name="Bench product", enqueue=False
        )
        step = timedelta(days=365) / max(n, 1)
        batch = 5_000
        for offset in range(0, n, batch):
            size = min(batch, n - offset)
            moments = [now - step * (offset + i + 1) for i in range(size)]
            LedgerEntry.objects.bulk_create(
                [
                    LedgerEntry(
                        team=team,
                        kind=LedgerKind.DEBIT,
                        pack_delta=-40,
                        amount=-40,
                        balance_after=10_000_000,
                        cause=f"bench:{label}:{offset + i}",
                        created_by=user,
                        created_at=moment,
                    )
                    for i, moment in enumerate(moments)
                ]
            )
            generations = []
            for moment in moments:
                clone = Generation(
                    **{
                        f.attname: getattr(model, f.attname)
                        for f in Generation._meta.concrete_fields
                        if f.attname not in ("id", "uuid", "created_at", "idempotency_key")
                    }
                )
                clone.uuid = uuid.uuid4()
                clone.created_at = moment
                generations.append(clone)
            Generation.objects.bulk_create(generations)
            Product.objects.bulk_create(
                [
                    Product(
                        team=team,
                        created_by=user,
                        name=f"Product {offset + i}",
                        category=("bags", "shoes", "watches", "")[i % 4],
                        original_id=product.original_id,
                        source=product.source,
                        analysis_status="done",
                        created_at=moment,
                    )
                    for i, moment in enumerate(moments)
                ]
            )
        teams[label] = (team, user)
    return teams


def explain(team) -> list[tuple[str, str]]:
    from catalog.models import Product
    from generations.models import Generation
    from studio.accounts.models import LedgerEntry

    queries = {
        "ledger page": LedgerEntry.objects.filter(team=team)[:25],
        "gallery page": Generation.objects.filter(team=team)[:24],
        "catalog page": Product.objects.filter(team=team)[:60],
    }
    plans = [(label, qs.explain()) for label, qs in queries.items()]
    try:
        from catalog.views import CATEGORY_WALK_SQL
    except ImportError:  # an older tree: its DISTINCT
        distinct = Product.objects.filter(team=team).values_list("category", flat=True)
        return [*plans, ("catalog categories", distinct.distinct().explain())]
    from django.db import connection

    sql = CATEGORY_WALK_SQL.format(table=connection.ops.quote_name(Product._meta.db_table))
    prefix = "EXPLAIN QUERY PLAN" if connection.vendor == "sqlite" else "EXPLAIN"
    with connection.cursor() as cursor:
        cursor.execute(f"{prefix} {sql}", [team.pk, team.pk])
        plan = "\n".join(" ".join(str(c) for c in row) for row in cursor.fetchall())
    return [*plans, ("catalog categories (index walk)", plan)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--tree", default=str(Path(__file__).resolve().parent.parent))
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="studio-bench-pages-"))
    sys.path.insert(0, args.tree)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="studio.settings",
        STUDIO_DEBUG="1",
        STUDIO_TASKS_SYNC="1",
        STUDIO_LOG_LEVEL="WARNING",
        STUDIO_VAR_DIR=str(workdir),
        STUDIO_MEDIA_ROOT=str(workdir / "media"),
        STUDIO_ALLOWED_HOSTS="testserver",
        DATABASE_URL=os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{workdir / 'pages.sqlite3'}"),
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    began = time.monotonic()
    teams = build(args.rows, args.small)
    print(
        f"built {args.rows:,} and {args.small:,} rows per table in {time.monotonic() - began:.0f} s"
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    def pages(team) -> dict[str, str]:
        from studio.accounts.models import LedgerEntry

        base = f"/t/{team.uuid}"
        entries = LedgerEntry.objects.filter(team=team).count()
        last_gallery = 10_000  # get_page() clamps to the last page there is
        return {
            "Credits": f"{base}/credits/",
            "Credits, ledger page 3": f"{base}/credits/?page=3",
            "Credits, last ledger page": f"{base}/credits/?page={entries // 25 + 1}",
            "Catalog": f"{base}/catalog/",
            "Gallery": f"{base}/gallery/",
            "Gallery, last page": f"{base}/gallery/?page={last_gallery}",
        }

    clients, urls = {}, {}
    for label, (team, user) in teams.items():
        client = Client()
        client.force_login(user)
        clients[label], urls[label] = client, pages(team)
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.repeat):  # interleaved: small and big, page after page
        for page in urls["small"]:
            for label in ("small", "big"):
                started = time.perf_counter()
                response = clients[label].get(urls[label][page])
                elapsed = time.perf_counter() - started
                assert response.status_code == 200, (page, label, response.status_code)
                times.setdefault((page, label), []).append(elapsed)

    print(f"pages, {connection.vendor}, median of {args.repeat} interleaved fetches ({args.tree})")
    print(
        f"{'page':28} {f'{args.small:,} rows ms':>14} {f'{args.rows:,} rows ms':>16} {'ratio':>7}"
    )
    failed = 0
    results = []
    for page in urls["small"]:
        small = statistics.median(times[(page, "small")]) * 1000
        big = statistics.median(times[(page, "big")]) * 1000
        results.append((page, small, big))
        print(f"{page:28} {small:14.1f} {big:16.1f} {big / small:7.2f}")
    for page, small, big in results:
        ok = big / small <= GOAL
        failed += not ok
        print(
            f"goal: {page} at {args.rows:,} rows ≤ {GOAL:g}x its time at {args.small:,}: "
            f"measured {big / small:.2f} {'PASS' if ok else 'FAIL'}"
        )
    print("query plans on the big team:")
    for label, plan in explain(teams["big"][0]):
        print(f"  {label}:")
        for line in plan.splitlines():
            print(f"    {line}")
    print("load average: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
