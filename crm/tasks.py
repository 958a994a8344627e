"""Housekeeping that keeps the embedded defaults healthy over months of use."""

import logging

from celery import shared_task
from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)


@shared_task(name="crm.tasks.housekeeping")
def housekeeping() -> None:
    from crm.maintenance import optimize_database, prune_broker

    optimize_database()
    if settings.CELERY_BROKER_IS_SQLA:
        pruned = prune_broker(settings.CELERY_BROKER_URL)
        logger.info("pruned %s delivered broker messages", pruned)
    connection.close()
