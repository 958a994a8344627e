from __future__ import annotations

from django.db import models


class RunningProcess(models.Model):
    """A web, worker or beat process that runs now, on any machine, and the encryption key set
    it loaded at start. ``rotatekeys`` reads it to keep the safe rotation order: it refuses to
    re-encrypt or to drop the old key while a process still encrypts with an older key.

    A process adds its row at start and removes it at exit. A row left by a process that was
    killed is removed by the next process that starts on the same machine, or by ``rotatekeys``
    on that machine (it checks the pid); ``rotatekeys --forget pid@host`` removes one left on a
    machine that is gone."""

    role = models.CharField(max_length=20)
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    # Fingerprints of the keys it loaded, newest (the one it encrypts with) first.
    key_fingerprints = models.CharField(max_length=1000)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["host", "pid"], name="running_process_host_pid")
        ]

    def __str__(self) -> str:
        return f"{self.role}, pid {self.pid} on {self.host}"

    @property
    def encrypting_key(self) -> str:
        return self.key_fingerprints.split(",", 1)[0]
