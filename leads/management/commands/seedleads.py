"""Load a large, realistic benchmark data set for the bench users (bench1..benchN), fast.

    manage.py seedleads --leads 1000000 --users 10 --companies 20000 [--seed 1] [--days 730]
                        [--reset | --append]

Rows are generated with plain Python and written with ``executemany`` through Django's own
cursor, in batches, one transaction per batch: model instances, ``save()`` and even
``bulk_create`` would cost several times the database's own work at a million rows. The SQL
uses only ``%s`` placeholders and explicit ids, so the same code loads SQLite and PostgreSQL.

The data look like a real pipeline: leads are spread evenly over the users and interleaved
(every user's leads cover the whole period), ``created_at`` rises with ``id`` over the last
``--days`` days (so a date range is an id range, as in production), each lead belongs to one of
its user's companies, and every lead has its first history entry, as ``lead_create`` writes.
Ids are taken above the current maximum, so do not run this beside other writers.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.management.color import no_style
from django.db import connection, transaction

from leads import bulk, normalize
from leads.models import Company, EmailStatus, Lead, LeadEvent, Source
from leads.services import bulk_write_finished

USERNAME_PREFIX = "bench"


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# (status, cumulative probability): 40% new, 25% contacted, 15% qualified, 10% converted,
# 10% lost.
STATUS_MIX: tuple[tuple[str, float], ...] = (
    ("new", 0.40),
    ("contacted", 0.65),
    ("qualified", 0.80),
    ("converted", 0.90),
    ("lost", 1.00),
)

FIRST_NAMES = _words(
    "james mary robert patricia john jennifer michael linda david elizabeth william barbara "
    "richard susan joseph jessica thomas sarah charles karen christopher lisa daniel nancy "
    "matthew betty anthony margaret mark sandra donald ashley steven kimberly paul emily andrew "
    "donna joshua michelle kenneth carol kevin amanda brian melissa george deborah timothy "
    "stephanie ronald rebecca edward sharon jason laura jeffrey cynthia ryan kathleen jacob amy "
    "gary angela nicholas shirley eric anna jonathan brenda stephen pamela larry emma justin "
    "nicole scott helen brandon samantha benjamin katherine samuel christine gregory debra "
    "alexander rachel frank carolyn patrick janet raymond maria jack olivia dennis heather "
    "jerry diane tyler julie aaron joyce jose victoria adam lauren nathan kelly henry christina "
    "sofia lucas mia noah elena luca giulia hugo chloe mateo ines lars ingrid pierre camille "
    "hans greta yuki haruto wei mei arjun priya omar fatima"
)
LAST_NAMES = _words(
    "smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez "
    "gonzalez wilson anderson thomas taylor moore jackson martin lee perez thompson white "
    "harris sanchez clark ramirez lewis robinson walker young allen king wright scott torres "
    "nguyen hill flores green adams nelson baker hall rivera campbell mitchell carter roberts "
    "gomez phillips evans turner diaz parker cruz edwards collins reyes stewart morris morales "
    "murphy cook rogers gutierrez ortiz morgan cooper peterson bailey reed kelly howard ramos "
    "kim cox ward richardson watson brooks chavez wood james bennett gray mendoza ruiz hughes "
    "price alvarez castillo sanders patel myers long ross foster jimenez rossi muller schmidt "
    "schneider fischer weber dubois moreau laurent bernard lefebvre jansen devries bakker "
    "johansson andersson nilsson larsen hansen kowalski nowak novak tanaka suzuki sato wang "
    "chen singh kumar ali hassan"
)
COMPANY_WORDS_1 = _words(
    "blue bright north summit apex silver iron green red golden rapid clear true prime quantum "
    "urban coastal alpine cedar maple oak pine river stone swift bold nova vertex polar solar "
    "lunar crystal atlas orbit pioneer harbor beacon fusion vector zenith"
)
COMPANY_WORDS_2 = _words(
    "logic works labs systems dynamics analytics solutions software networks digital ventures "
    "partners media health energy capital robotics foods logistics motors designs security "
    "cloud data foundry studio bridge peak field point path wave"
)
COMPANY_SUFFIXES = ("Inc", "LLC", "Ltd", "GmbH", "SA", "BV", "Group", "Co", "AB", "")
TLDS = ("com", "io", "co", "net", "de", "fr", "nl", "se", "co.uk", "ai")
INDUSTRIES = (
    "Software", "Healthcare", "Finance", "Retail", "Manufacturing", "Logistics", "Education",
    "Energy", "Media", "Real Estate", "Consulting", "Telecommunications", "Hospitality",
    "Automotive", "Food & Beverage",
)  # fmt: skip
SIZES = ("1-10", "11-50", "51-200", "201-500", "501-1000", "1000+")
COUNTRIES = ("US", "GB", "DE", "FR", "NL", "SE", "ES", "IT", "CA", "JP", "IN", "BR")
POSITIONS = (
    "CEO", "CTO", "CFO", "VP Sales", "VP Marketing", "Head of Operations", "Product Manager",
    "Engineering Manager", "Procurement Lead", "Office Manager", "Founder", "Sales Director",
    "Marketing Manager", "IT Manager", "Operations Analyst", "",
)  # fmt: skip
LEAD_SOURCES = ("website", "referral", "linkedin", "conference", "cold outreach", "webinar", "")

# The bulk service's columns with the explicit id first (the seed numbers its own rows).
LEAD_COLUMNS = ("id", *bulk.LEAD_COLUMNS)
EVENT_COLUMNS = bulk.EVENT_COLUMNS
COMPANY_COLUMNS = ("id", *bulk.COMPANY_COLUMNS)


def _datetime_adapter() -> Callable[[dt.datetime], Any]:
    """How a UTC datetime is passed as a parameter of a raw query on this database."""
    if connection.vendor == "sqlite":
        # Django keeps SQLite datetimes as naive UTC text. Formatting it here costs a third
        # of ops.adapt_datetimefield_value, which matters at three million values.
        return lambda value: value.replace(tzinfo=None).isoformat(" ", "microseconds")
    return connection.ops.adapt_datetimefield_value


@dataclass(frozen=True)
class SeedCompany:
    id: int
    name: str
    domain: str


class Command(BaseCommand):
    help = "Load a benchmark data set of leads for users bench1..benchN (fast, raw SQL)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--leads", type=int, default=1_000_000, help="leads to add")
        parser.add_argument("--users", type=int, default=10, help="bench users to spread over")
        parser.add_argument("--companies", type=int, default=20_000, help="companies to add")
        parser.add_argument("--seed", type=int, default=1, help="random seed (reproducible data)")
        parser.add_argument("--days", type=int, default=730, help="created_at spans this period")
        parser.add_argument("--batch", type=int, default=20_000, help="leads per transaction")
        parser.add_argument(
            "--no-analyze",
            action="store_true",
            help="leave the planner without statistics, as a bulk load by other means would "
            "(bench/bench_filters.py measures that state)",
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--reset", action="store_true", help="delete the bench users' data first")
        mode.add_argument(
            "--append", action="store_true", help="add to the bench users' existing data"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        n_leads: int = options["leads"]
        n_users: int = options["users"]
        n_companies: int = options["companies"]
        days: int = options["days"]
        batch: int = options["batch"]
        if n_users < 1 or n_leads < 0 or days < 1 or batch < 1:
            raise CommandError("--users, --days and --batch must be at least 1, --leads >= 0.")
        if n_leads and n_companies < n_users:
            raise CommandError("--companies must be at least --users: every lead needs one.")

        self.rng = random.Random(options["seed"])
        # Deal values draw from their own sequence, so the rest of the data is what the seed
        # gave before leads had them: a bench before and after compares the same leads.
        self.deal_rng = random.Random(options["seed"] + 1)
        self.to_db_datetime = _datetime_adapter()
        started = time.perf_counter()

        user_ids = self._bench_users(n_users)
        # Every bench user counts, not only the first --users: a smaller rerun must not leave
        # the data of an earlier, larger one behind.
        all_bench_ids = list(
            get_user_model()
            .objects.filter(username__regex=rf"^{USERNAME_PREFIX}[0-9]+$")
            .values_list("pk", flat=True)
        )
        if options["reset"]:
            self._reset(all_bench_ids)
        elif not options["append"] and Lead.objects.filter(user_id__in=all_bench_ids).exists():
            raise CommandError(
                "The bench users already have leads: pass --reset to replace them "
                "or --append to add more."
            )

        now = dt.datetime.now(dt.UTC)
        period_start = now - dt.timedelta(days=days)
        companies = self._insert_companies(user_ids, n_companies, period_start)
        self._insert_leads(user_ids, companies, n_leads, period_start, now, batch, started)
        self._finish(analyze=not options["no_analyze"])

        elapsed = time.perf_counter() - started
        rows = n_companies + 2 * n_leads  # companies, leads and one event per lead
        self.stdout.write(
            self.style.SUCCESS(
                f"Done: {n_companies:,} companies, {n_leads:,} leads, {n_leads:,} events "
                f"in {elapsed:.1f} s ({rows / elapsed:,.0f} rows/s overall)."
            )
        )

    # --- Users and reset --------------------------------------------------------------------

    def _bench_users(self, count: int) -> list[int]:
        User = get_user_model()
        ids = []
        for n in range(1, count + 1):
            user, created = User.objects.get_or_create(username=f"{USERNAME_PREFIX}{n}")
            if created:
                user.set_unusable_password()  # bench accounts are never signed in to
                user.save(update_fields=["password"])
            ids.append(user.pk)
        return ids

    def _reset(self, user_ids: list[int]) -> None:
        """Delete the users' companies, leads and everything that points at them.

        Raw deletes: the ORM would load a million leads to cascade in Python. Rows of other
        apps that reference a lead or a company (history, integration links...) are found
        through the models' relations, so a new referencing table needs no change here.
        """
        t0 = time.perf_counter()
        qn = connection.ops.quote_name
        marks = ", ".join(["%s"] * len(user_ids))
        with transaction.atomic(), connection.cursor() as cursor:
            for model in (Lead, Company):
                owned = f"SELECT id FROM {qn(model._meta.db_table)} WHERE user_id IN ({marks})"  # noqa: S608
                for relation in model._meta.related_objects:
                    related = relation.related_model
                    if relation.many_to_many or related in (Lead, Company) or related == "self":
                        continue  # no many-to-many here; leads and companies go below
                    assert not isinstance(related, str)
                    table = qn(related._meta.db_table)
                    column = qn(relation.field.column)
                    sql = f"DELETE FROM {table} WHERE {column} IN ({owned})"  # noqa: S608
                    cursor.execute(sql, user_ids)
            # Leads before companies: a lead protects its company.
            for model in (Lead, Company):
                sql = f"DELETE FROM {qn(model._meta.db_table)} WHERE user_id IN ({marks})"  # noqa: S608
                cursor.execute(sql, user_ids)
        self.stdout.write(
            f"Reset: deleted the bench users' data in {time.perf_counter() - t0:.1f} s"
        )

    # --- Companies --------------------------------------------------------------------------

    def _insert_companies(
        self, user_ids: list[int], count: int, period_start: dt.datetime
    ) -> dict[int, list[SeedCompany]]:
        """Insert ``count`` companies spread round-robin over the users; return them by user."""
        rng = self.rng
        # Domains are unique per user: remember the ones that exist (for --append) and ours.
        taken: dict[int, set[str]] = {uid: set() for uid in user_ids}
        for uid, domain in Company.objects.filter(user_id__in=user_ids).values_list(
            "user_id", "domain"
        ):
            taken[uid].add(domain)

        next_id = self._max_id(Company) + 1
        by_user: dict[int, list[SeedCompany]] = {uid: [] for uid in user_ids}
        rows = []
        for n in range(count):
            uid = user_ids[n % len(user_ids)]
            word1, word2 = rng.choice(COMPANY_WORDS_1), rng.choice(COMPANY_WORDS_2)
            suffix = rng.choice(COMPANY_SUFFIXES)
            name = f"{word1.title()} {word2.title()}" + (f" {suffix}" if suffix else "")
            stem, tld = f"{word1}{word2}", rng.choice(TLDS)
            domain, k = f"{stem}.{tld}", 1
            while domain in taken[uid]:  # the same name twice for one user: number it
                k += 1
                domain = f"{stem}{k}.{tld}"
            taken[uid].add(domain)
            # Companies exist before their leads: created in the first weeks of the period.
            created = self.to_db_datetime(
                period_start - dt.timedelta(seconds=rng.random() * 30 * 86400)
            )
            company_id = next_id + n
            row = (
                company_id, uid, name, domain, f"https://www.{domain}", rng.choice(INDUSTRIES),
                rng.choice(SIZES), rng.choice(COUNTRIES), created, created,
            )  # fmt: skip
            rows.append(row)
            by_user[uid].append(SeedCompany(company_id, name, domain))

        t0 = time.perf_counter()
        with transaction.atomic():
            bulk.insert_prepared(Company, COMPANY_COLUMNS, rows)
        self.stdout.write(f"Companies: {count:,} in {time.perf_counter() - t0:.1f} s")
        return by_user

    # --- Leads and their first history entry ------------------------------------------------

    def _lead_rows(
        self,
        user_ids: list[int],
        companies: dict[int, list[SeedCompany]],
        count: int,
        first_id: int,
        period_start: dt.datetime,
        now: dt.datetime,
    ) -> Iterator[tuple[tuple[Any, ...], tuple[Any, ...]]]:
        """Yield (lead row, event row) pairs, ids ascending, created_at rising with them."""
        rng = self.rng
        to_db = self.to_db_datetime
        to_db_money = connection.ops.adapt_decimalfield_value
        to_db_day = connection.ops.adapt_datefield_value
        random_ = rng.random
        deal_random = self.deal_rng.random
        n_users = len(user_ids)
        step = (now - period_start).total_seconds() / max(count, 1)
        no_attributes = connection.ops.adapt_json_value({}, None)
        # Each company numbers its leads, so first.last<n>@domain is unique per user without
        # keeping a million emails in memory (the companies are new, see --append).
        per_company: dict[int, int] = {}
        status_kind, api_source = LeadEvent.Kind.STATUS.value, Source.API.value
        unknown_email = EmailStatus.UNKNOWN.value

        for n in range(count):
            uid = user_ids[n % n_users]
            user_companies = companies[uid]
            company = user_companies[int(random_() * len(user_companies))]
            seq = per_company[company.id] = per_company.get(company.id, 0) + 1

            first = FIRST_NAMES[int(random_() * len(FIRST_NAMES))]
            last = LAST_NAMES[int(random_() * len(LAST_NAMES))]
            email = f"{first}.{last}{seq}@{company.domain}"
            first_name, last_name = first.title(), last.title()

            draw = random_()
            status = next(s for s, upto in STATUS_MIX if draw < upto)
            # Strictly inside the n-th time slot: created_at never goes down as id goes up.
            created = period_start + dt.timedelta(seconds=(n + random_()) * step)
            if status == "new":
                status_changed = created
            else:  # moved on some time within the following 60 days, never in the future
                later = created + dt.timedelta(seconds=random_() * 60 * 86400)
                status_changed = min(later, now)
            # Nothing else changed since: updated_at is the status change.
            created_db, changed_db = to_db(created), to_db(status_changed)
            lead_id = first_id + n
            linkedin = f"https://www.linkedin.com/in/{first}-{last}-{lead_id:x}"
            search_text = normalize.search_text(
                first_name=first_name, last_name=last_name, email=email, company_name=company.name
            )
            # A deal value on most leads past "new" (hundreds to a hundred thousand), and an
            # expected close date on the open ones that have one.
            deal_value = close_date = None
            if status != "new" and deal_random() < 0.6:
                deal_value = to_db_money(Decimal(int(5 + deal_random() * 1000) * 100))
                if status in ("contacted", "qualified"):
                    days = 14 + int(deal_random() * 120)
                    close_date = to_db_day((status_changed + dt.timedelta(days=days)).date())
            yield (
                (
                    lead_id, uid, company.id, status, int(random_() * 101), False, "", email,
                    first_name, last_name, POSITIONS[int(random_() * len(POSITIONS))],
                    f"+1 555 {int(random_() * 10_000):04d}",
                    linkedin if random_() < 0.6 else "",
                    LEAD_SOURCES[int(random_() * len(LEAD_SOURCES))], no_attributes,
                    changed_db, created_db, changed_db, search_text,
                    False, "", unknown_email, None, None, deal_value, close_date,
                ),
                # The first history entry, as lead_create writes it: from nothing, at creation.
                (
                    lead_id, uid, status_kind, None, status, api_source, None, no_attributes,
                    created_db,
                ),
            )  # fmt: skip

    def _insert_leads(
        self,
        user_ids: list[int],
        companies: dict[int, list[SeedCompany]],
        count: int,
        period_start: dt.datetime,
        now: dt.datetime,
        batch: int,
        started: float,
    ) -> None:
        rows = self._lead_rows(
            user_ids, companies, count, self._max_id(Lead) + 1, period_start, now
        )
        done, t0 = 0, time.perf_counter()
        report_every = max(batch, count // 20)
        while done < count:
            chunk = [next(rows) for _ in range(min(batch, count - done))]
            # One transaction per batch: few commits, yet an interrupted load keeps whole
            # batches only (every lead with its event) and never holds one huge transaction.
            with transaction.atomic():
                bulk.insert_prepared(Lead, LEAD_COLUMNS, [lead for lead, _ in chunk])
                bulk.insert_prepared(LeadEvent, EVENT_COLUMNS, [event for _, event in chunk])
            done += len(chunk)
            if done % report_every < len(chunk) or done == count:
                spent = time.perf_counter() - t0
                self.stdout.write(
                    f"Leads: {done:,}/{count:,}  {done / spent:,.0f} leads/s  "
                    f"({time.perf_counter() - started:.0f} s)"
                )

    # --- Helpers ----------------------------------------------------------------------------

    @staticmethod
    def _max_id(model: type[Lead] | type[Company]) -> int:
        table = connection.ops.quote_name(model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT MAX(id) FROM {table}")  # noqa: S608
            return cursor.fetchone()[0] or 0

    def _finish(self, *, analyze: bool) -> None:
        # The load ends as an import's does (PlannerStatistics.finish), its statistics apart:
        # on PostgreSQL the tally's rows (one per statement, owner and status) folded, and
        # the trigram index's pending list merged, which every search would read whole.
        bulk_write_finished()
        t0 = time.perf_counter()
        with connection.cursor() as cursor:
            # Explicit ids leave PostgreSQL's sequences behind; SQLite's AUTOINCREMENT follows
            # on its own (this list is empty there).
            for sql in connection.ops.sequence_reset_sql(no_style(), [Company, Lead, LeadEvent]):
                cursor.execute(sql)
            # Query plans depend on table statistics, which Django never gathers: without them
            # SQLite picks poor indexes for combined filters.
            if not analyze:
                if connection.vendor == "sqlite":
                    # Forget earlier statistics too: the state of a fresh bulk load.
                    cursor.execute(
                        "SELECT name FROM sqlite_master "
                        "WHERE name IN ('sqlite_stat1', 'sqlite_stat4')"
                    )
                    for (name,) in cursor.fetchall():
                        cursor.execute(f"DELETE FROM {name}")  # noqa: S608 (two known names)
            elif connection.vendor == "sqlite":
                cursor.execute("ANALYZE")
            else:
                for model in (Company, Lead, LeadEvent):
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        self.stdout.write(f"ANALYZE: {time.perf_counter() - t0:.1f} s")
