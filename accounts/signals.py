"""A changed password revokes the user's API tokens, whichever door changed it.

The sign-in page's password change, a reset, the admin's form, ``manage.py changepassword``
and any ``set_password()`` followed by ``save()`` all end in a save of the user with a new
hash; tokens are credentials of their own, so a person who changes a password because it
leaked must not leave a working token behind.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models.signals import pre_save
from django.dispatch import receiver

from accounts.services import api_tokens_revoke_all


@receiver(pre_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts.revoke_on_password")
def revoke_tokens_when_the_password_changes(sender, instance, update_fields=None, **kwargs):
    if instance.pk is None or (update_fields is not None and "password" not in update_fields):
        return  # a new user has no tokens; a save of other fields (last_login) changes nothing
    stored = sender._default_manager.filter(pk=instance.pk).values_list("password", flat=True)
    before = stored.first()
    if before is None or before == instance.password:
        return
    user_id = instance.pk
    transaction.on_commit(lambda: api_tokens_revoke_all(user_id=user_id))
