import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

app = Celery("crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
def _worker_holds_the_database(**kwargs) -> None:
    from crm.running import announce

    announce("worker")


@signals.beat_init.connect
def _beat_holds_the_database(**kwargs) -> None:
    from crm.running import announce

    announce("beat")
