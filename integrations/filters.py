import django_filters

from integrations.models import SyncRun
from leads.filters import _id_filter


class SyncRunFilterSet(django_filters.FilterSet):
    integration_id = _id_filter()
    state = django_filters.ChoiceFilter(choices=SyncRun.State.choices)

    class Meta:
        model = SyncRun
        fields: list[str] = []
