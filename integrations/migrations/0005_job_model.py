# SyncRun is a crm.jobs.Job: the shared state field is 12 characters wide.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('integrations', '0004_hunter_known_fields'),
    ]

    operations = [
        migrations.AlterField(
            model_name='syncrun',
            name='state',
            field=models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('succeeded', 'Succeeded'), ('partial', 'Finished with failures'), ('failed', 'Failed'), ('cancelled', 'Cancelled')], default='queued', max_length=12),
        ),
    ]
