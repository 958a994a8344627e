"""Reads for the web pages of leads and companies.

Every function takes the signed-in user and reads only that user's rows. Lists are keyset
pages on id (never OFFSET), so a page costs the same at the first lead and the millionth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, F, Q

from crm.errors import NotFound
from crm.money import money
from leads import list_sql, selectors
from leads.filters import MAX_ID
from leads.list_columns import DEFAULT_COLUMNS, LIST_COLUMNS
from leads.models import SEARCH_INDEX_TABLE, Company, Lead, LeadListPreference, Source
from leads.reassign import display_name
from leads.scope import Scope
from leads.selectors import LeadFilters, Page

# The two list orders: both walk an index that ends in id, so both stay fast at any size.
ORDER_NEWEST = "newest"
ORDER_OLDEST = "oldest"
ORDERS = {ORDER_NEWEST: "Newest first", ORDER_OLDEST: "Oldest first"}

# How many companies a <select> offers; a user with more types to find one (company_options).
COMPANY_CHOICES_LIMIT = 500
COMPANY_OPTIONS_LIMIT = 50
HISTORY_LIMIT = 50
SOURCE_LABELS = dict(Source.choices)


def _named(page: Page) -> Page:
    """Give each row the name a person reads: full name, else email, else "Lead #id"."""
    for row in page.data:
        full = f"{row['first_name']} {row['last_name']}".strip()
        row["display_name"] = full or row["email"] or f"Lead #{row['id']}"
    return page


@dataclass(frozen=True)
class ListPage:
    data: list[dict[str, Any]]
    # Keyset cursors: the next page is after ``next_cursor``, the previous one before
    # ``prev_cursor`` (None: there is none that way).
    next_cursor: int | None
    prev_cursor: int | None


def lead_page(
    *,
    user,
    filters: LeadFilters,
    cursor: int | None,
    order: str,
    limit: int,
    before: int | None = None,
) -> ListPage:
    """One page of the user's leads, newest or oldest first: the page after ``cursor``, or
    (``before``) the page just before that lead.

    The page before is the same keyset walk in the other direction, turned round; when it
    reaches the start of the list the first page is read instead, so "previous" always
    lands on full pages however the list changed meanwhile.
    """
    oldest_first = order == ORDER_OLDEST
    if cursor is None and before is not None:
        back = selectors.lead_list(
            user=user, filters=filters, cursor=before, limit=limit, oldest_first=not oldest_first
        )
        if back.next_cursor is not None:
            data = back.data[::-1]
            named = _named(selectors.Page(data, None)).data
            return ListPage(named, next_cursor=data[-1]["id"], prev_cursor=data[0]["id"])
        # The start of the list: read the first page itself.
    page = _named(
        selectors.lead_list(
            user=user, filters=filters, cursor=cursor, limit=limit, oldest_first=oldest_first
        )
    )
    prev_cursor = page.data[0]["id"] if cursor is not None and page.data else None
    return ListPage(page.data, next_cursor=page.next_cursor, prev_cursor=prev_cursor)


def lead_list_columns(*, user) -> list[str]:
    """The optional columns the person chose for the leads list (or the defaults), in the
    table's order."""
    saved = LeadListPreference.objects.filter(user_id=user.pk).values_list("columns", flat=True)
    chosen = next(iter(saved), None)
    if chosen is None:
        chosen = DEFAULT_COLUMNS
    return [name for name in LIST_COLUMNS if name in chosen]


def lead_page_columns(*, user, page: ListPage, columns: list[str]) -> None:
    """Add what the chosen columns show and the page's rows do not hold as text: the owner's
    name and the deal value with its currency. At most one query for the whole page (the
    owners of a page with other people's leads), never one per row."""
    rows = page.data
    if not rows:
        return
    if "owner" in columns:
        owner_ids = {row["user_id"] for row in rows}
        if owner_ids == {user.pk}:
            names = {user.pk: user.get_username()}
        else:
            users = get_user_model()._default_manager.filter(pk__in=owner_ids)
            names = {pk: name for pk, name in users.values_list("pk", "username")}
        for row in rows:
            row["owner_name"] = names.get(row["user_id"], "")
    if "value" in columns:
        for row in rows:
            row["value_display"] = money(row["deal_value"]) or "—"


# The list counts its matches up to here and says "10,000+" beyond, as the admin does: an
# exact count of a large account costs a scan of all its leads on every page view.
MATCH_COUNT_CAP = 10_000


@dataclass(frozen=True)
class MatchCount:
    count: int
    # True when more leads match than were counted (``count`` is then the cap).
    more: bool

    @property
    def label(self) -> str:
        return f"{self.count:,}+" if self.more else f"{self.count:,}"


def _match_count_sql(filters: LeadFilters, scope: Scope) -> tuple[str, list[Any]]:
    """The FROM and WHERE of the capped count: the page's filters, read from the index that
    answers them without visiting the rows where there is one (measured at 1,000,000 leads,
    100,000 of one user, counting to 10,000: score 50-100 13.8 ms from the rows, 1.2 ms
    from lead_counts; a common ``q`` 5.6 ms reading each match's row, 2.4 ms from the
    trigram index and the (user, id) index)."""
    trigram = selectors._use_trigram_index(filters)
    if trigram and [spec.name for spec, _ in list_sql.active_filters(filters)] == ["q"]:
        # The search alone: the trigram index's phrase match is the substring test on the
        # same folded text, so only the owner needs checking, in the (user, id) index.
        search = f'"{SEARCH_INDEX_TABLE}"'
        owner_term, params = scope.owner_sql('l."user_id"')
        return (
            f'{search} CROSS JOIN "leads_lead" l INDEXED BY "lead_user_id" WHERE {owner_term} '
            f'AND l."id" = {search}."rowid" AND {search}."search_text" MATCH %s',
            [*params, list_sql.fts5_phrase(filters.q or "")],
        )
    # Otherwise the index that serves the filters (score and date ranges: lead_counts).
    return list_sql.lead_source_sql(filters, scope=scope, trigram=trigram)


def lead_match_count(*, user, filters: LeadFilters, cap: int | None = None) -> MatchCount:
    """How many of the user's leads match ``filters`` (the list page's own filters), counted
    up to ``cap``: the inner LIMIT stops the count, so it reads at most ``cap`` index
    entries whatever the account's size."""
    cap = MATCH_COUNT_CAP if cap is None else cap
    source, params = _match_count_sql(filters, Scope.of(user))
    # Only constant fragments are joined; every value is a parameter.
    sql = f"SELECT COUNT(*) FROM (SELECT 1 FROM {source} LIMIT %s) AS matched"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, cap + 1])
        n = cursor.fetchone()[0]
    return MatchCount(count=min(n, cap), more=n > cap)


def lead_detail(*, user, lead_id: int) -> Lead:
    """The lead with its company, or 404 (another user's lead is exactly a missing one)."""
    if lead_id > MAX_ID:
        raise NotFound
    return selectors.lead_get(user=user, lead_id=lead_id)


# How a history entry names a field (otherwise its name with spaces).
FIELD_LABELS = {
    "linkedin_url": "LinkedIn",
    "email_status": "Email status",
    "do_not_contact": "Do not contact",
    "do_not_contact_reason": "Do-not-contact reason",
    "owner": "Owner",
    "expected_close_date": "Expected close date",
}


def _field_label(name: str) -> str:
    if name == "deal_value":
        return f"Deal value ({settings.CURRENCY})"
    return FIELD_LABELS.get(name, name.replace("_", " ").capitalize())


def _shown(value: Any) -> str:
    """A stored value as a person reads it: never a Python repr."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_shown(item) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{key}: {_shown(item)}" for key, item in value.items())
    return str(value)


def readable_changes(changes: dict[str, Any]) -> list[dict[str, str]]:
    """A history entry's changes, one line per field and per custom attribute, in words."""
    lines: list[dict[str, str]] = []
    for name, pair in changes.items():
        if not (isinstance(pair, list | tuple) and len(pair) == 2):
            continue
        old, new = pair
        if (
            isinstance(old, dict | type(None))
            and isinstance(new, dict | type(None))
            and (isinstance(old, dict) or isinstance(new, dict))
        ):
            # Custom attributes: each key that changed on a line of its own.
            old, new = old or {}, new or {}
            # By name: PostgreSQL's jsonb keeps no order of its own.
            for key in sorted({*old, *new}):
                if old.get(key) != new.get(key):
                    lines.append(
                        {
                            "field": str(key),
                            "old": _shown(old.get(key)),
                            "new": _shown(new.get(key)),
                        }
                    )
            continue
        if name == "deal_value":
            old, new = money(old), money(new)
        lines.append({"field": _field_label(name), "old": _shown(old), "new": _shown(new)})
    return lines


def lead_timeline(*, user, lead_id: int, limit: int = HISTORY_LIMIT) -> list[dict[str, Any]]:
    """The lead's history, newest first: status changes and fields changed by imports."""
    rows = (
        Scope.of(user)
        .events()
        .filter(lead_id=lead_id)
        .order_by("-id")
        .values(
            "id",
            "kind",
            "from_status",
            "to_status",
            "source",
            "provider",
            "changes",
            "at",
            actor_name=F("actor__username"),
        )[:limit]
    )
    events: list[dict[str, Any]] = []
    for values in rows:
        row: dict[str, Any] = dict(values)
        row["change_list"] = readable_changes(row["changes"] or {})
        row["source_label"] = SOURCE_LABELS.get(row["source"], row["source"])
        events.append(row)
    return events


def lead_external_links(*, lead: Lead) -> list[dict[str, Any]]:
    """The vendor records linked to the lead (read through the reverse relation, so this
    module never imports ``integrations``)."""
    rows = lead.external_links.order_by("id").values(
        "id", "vendor_id", "created_at", provider=F("integration__provider")
    )
    return [dict(row) for row in rows]


def _company_label(name: str, domain: str) -> str:
    return f"{name} ({domain})" if domain else name


def _companies(user, owner_id: int | None):
    """Every company in the person's scope (a filter), or one owner's (a lead's company)."""
    scope = Scope.of(user)
    return scope.companies() if owner_id is None else scope.companies_of(owner_id)


def company_choices(
    *, user, include_id: int | None = None, owner_id: int | None = None
) -> tuple[list[tuple[int, str]], bool]:
    """The user's companies for a <select>, by name, bounded; ``include_id`` is always in.
    ``owner_id``: only that owner's companies, for a lead of theirs.

    Also says whether the list was cut short, so the page can offer a search instead.
    """
    rows = list(
        _companies(user, owner_id)
        .order_by("name", "id")
        .values_list("id", "name", "domain")[: COMPANY_CHOICES_LIMIT + 1]
    )
    truncated = len(rows) > COMPANY_CHOICES_LIMIT
    rows = rows[:COMPANY_CHOICES_LIMIT]
    if include_id is not None and all(r[0] != include_id for r in rows):
        extra = _companies(user, owner_id).filter(id=include_id).values_list("id", "name", "domain")
        rows = list(extra) + rows
    return [(pk, _company_label(name, domain)) for pk, name, domain in rows], truncated


def company_options(
    *, user, q: str, include_id: int | None = None, owner_id: int | None = None
) -> tuple[list[tuple[int, str]], bool]:
    """The user's companies whose name or domain contains ``q``, by name, for a picker, and
    whether more match than it shows.

    ``include_id`` (the current choice) stays first, so narrowing the list never drops it.
    """
    matches = _companies(user, owner_id)
    if q:
        matches = matches.filter(Q(name__icontains=q) | Q(domain__icontains=q))
    limit = COMPANY_OPTIONS_LIMIT
    rows = list(matches.order_by("name", "id").values_list("id", "name", "domain")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    if include_id is not None and all(r[0] != include_id for r in rows):
        current = _companies(user, owner_id).filter(id=include_id)
        rows = list(current.values_list("id", "name", "domain")) + rows
    return [(pk, _company_label(name, domain)) for pk, name, domain in rows], more


def company_get(*, user, company_id: int) -> Company:
    if company_id > MAX_ID:
        raise NotFound
    return selectors.company_get(user=user, company_id=company_id)


def company_page(*, user, q: str | None, cursor: int | None, limit: int) -> Page:
    return selectors.company_list(user=user, q=q, domain=None, cursor=cursor, limit=limit)


def company_leads(*, user, company_id: int, cursor: int | None, limit: int) -> Page:
    return _named(
        selectors.lead_list(
            user=user, filters=LeadFilters(company_id=company_id), cursor=cursor, limit=limit
        )
    )


def company_lead_counts_by_status(*, company: Company) -> dict[str, int]:
    rows = Lead.objects.filter(company=company).order_by().values("status").annotate(n=Count("id"))
    return {r["status"]: r["n"] for r in rows}


def leads_for_confirmation(*, user, lead_ids: list[int]) -> list[dict[str, Any]]:
    """The user's leads among ``lead_ids`` (others' ids simply drop out), for a confirm page."""
    rows = (
        Scope.of(user)
        .leads()
        .filter(id__in=lead_ids)
        .order_by("-id")
        .values("id", "first_name", "last_name", "email", "company__name")
    )
    return [dict(row) for row in rows]


def leads_owned(*, user, lead_ids: list[int]) -> list[Lead]:
    return list(Scope.of(user).leads().filter(id__in=lead_ids).order_by("id"))


def owner_name_of(user_id: int) -> str:
    user = get_user_model()._default_manager.filter(pk=user_id).first()
    if user is None:
        return ""
    return display_name(user)


def owner_name(*, lead: Lead) -> str:
    return owner_name_of(lead.user_id)


def team_owners(*, user, active_only: bool = False) -> list[dict[str, Any]]:
    """The members of a manager's scope, by username: every one to filter by (deactivated
    ones marked: their leads wait to be handed over), or the active ones to hand leads to.
    Empty for anyone who is not a team's manager."""
    scope = Scope.of(user)
    if not scope.is_manager:
        return []
    users = get_user_model()._default_manager.filter(pk__in=scope.owner_ids)
    if active_only:
        users = users.filter(is_active=True)
    rows = users.order_by("username").values(
        "id", "username", "first_name", "last_name", "is_active"
    )
    owners = []
    for r in rows:
        name = f"{r['first_name']} {r['last_name']}".strip() or r["username"]
        owners.append({"id": r["id"], "name": name if r["is_active"] else f"{name} (inactive)"})
    return owners


def team_members(*, user) -> list[dict[str, Any]]:
    """The people a manager may hand leads to: the active members of the scope."""
    return team_owners(user=user, active_only=True)
