# One background-job model (crm.jobs): CSV imports move from heartbeats to leases.

from django.db import migrations, models


def heartbeat_to_due_time(apps, schema_editor):
    """An active import's last sign of life becomes the time it was due: the job sweep
    (crm.jobs.jobs_to_recover) requeues it once that is CSV_IMPORT_STALL_SECONDS old, as the
    heartbeat sweep did. The lease starts empty: no worker holds it under the new protocol
    until it claims it again."""
    CsvImport = apps.get_model("csvimport", "CsvImport")
    active = CsvImport.objects.filter(state__in=["queued", "running"])
    active.update(next_attempt_at=models.F("heartbeat_at"))


class Migration(migrations.Migration):

    dependencies = [
        ('csvimport', '0003_mode_overwrite'),
    ]

    operations = [
        migrations.AddField(
            model_name='csvimport',
            name='cancel_requested',
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name='csvimport',
            name='lease_owner',
            field=models.CharField(blank=True, default='', max_length=64),
        ),
        migrations.AddField(
            model_name='csvimport',
            name='lease_until',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='csvimport',
            name='next_attempt_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='csvimport',
            name='attempts',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AlterField(
            model_name='csvimport',
            name='error',
            field=models.TextField(blank=True, null=True),
        ),
        migrations.RunPython(heartbeat_to_due_time, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name='csvimport',
            name='heartbeat_at',
        ),
    ]
