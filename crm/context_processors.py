from django.urls import NoReverseMatch, reverse

# The main navigation, in order. A page appears once its URL name exists.
NAV = [
    ("board", "Board"),
    ("lead-list", "Leads"),
    ("company-list", "Companies"),
    ("dashboard", "Dashboard"),
    ("integration-list", "Integrations"),
    ("token-list", "API tokens"),
]


def _nav_items() -> list[dict[str, str]]:
    items = []
    for name, label in NAV:
        try:
            items.append({"name": name, "url": reverse(name), "label": label})
        except NoReverseMatch:
            continue
    return items


def navigation(request) -> dict:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"nav_items": _nav_items()}
