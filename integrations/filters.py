import django_filters

from crm.api import id_filter
from integrations.models import SyncRun


class SyncRunFilterSet(django_filters.FilterSet):
    integration_id = id_filter()
    state = django_filters.ChoiceFilter(choices=SyncRun.STATE_CHOICES)

    class Meta:
        model = SyncRun
        fields: list[str] = []
