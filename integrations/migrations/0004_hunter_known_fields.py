"""Hunter's company_type and updated_at were taken for custom attributes by earlier imports.

They are Hunter's own fields: a vendor timestamp kept as a custom attribute goes stale and
travels to the other vendors on export. Drop those two keys from the custom attributes of
leads linked to a Hunter integration (a key a person added to a lead with no Hunter link is
left alone).
"""

from django.db import migrations

KEYS = ("company_type", "updated_at")
BATCH = 1000


def drop_hunter_fields(apps, schema_editor):
    Lead = apps.get_model("leads", "Lead")
    ExternalLink = apps.get_model("integrations", "ExternalLink")
    lead_ids = (
        ExternalLink.objects.filter(integration__provider="hunter")
        .values_list("lead_id", flat=True)
        .order_by("lead_id")
    )
    changed = []
    for lead in Lead.objects.filter(id__in=lead_ids).only("id", "custom_attributes").iterator(
        chunk_size=BATCH
    ):
        attributes = lead.custom_attributes
        if isinstance(attributes, dict) and any(key in attributes for key in KEYS):
            lead.custom_attributes = {k: v for k, v in attributes.items() if k not in KEYS}
            changed.append(lead)
        if len(changed) >= BATCH:
            Lead.objects.bulk_update(changed, ["custom_attributes"])
            changed = []
    if changed:
        Lead.objects.bulk_update(changed, ["custom_attributes"])


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0003_options_exported_failure_lead"),
        ("leads", "0006_delivery_facts"),
    ]

    operations = [migrations.RunPython(drop_hunter_fields, migrations.RunPython.noop)]
