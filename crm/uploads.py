"""Uploads stopped while they stream, before any of them is spooled to disk.

Django writes an upload over ``FILE_UPLOAD_MAX_MEMORY_SIZE`` to a temporary file as it
arrives, whatever its size; a view that refuses a 2 GB file afterwards has already written
2 GB. This handler, first in ``FILE_UPLOAD_HANDLERS``, counts each file's bytes as they
arrive and stops the upload past ``FILE_UPLOAD_MAX_BYTES``, leaving a note on the request so
the view can say why (``request.upload_refused_size``). nginx refuses such bodies even
earlier (``client_max_body_size`` in deploy/nginx/crm.conf).
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload

# A multipart body carries its form fields and boundaries besides the file.
MULTIPART_SLACK = 64 * 1024


class SizeLimitUploadHandler(FileUploadHandler):
    declared = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.declared = content_length or 0

    def _refuse(self, size: int) -> StopUpload:
        if self.request is not None:
            setattr(self.request, "upload_refused_size", size)  # noqa: B010
        return StopUpload(connection_reset=False)

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        # Announced too big: stopped before the handlers after this one (memory, temporary
        # file) see a byte of it.
        if self.declared > settings.FILE_UPLOAD_MAX_BYTES + MULTIPART_SLACK:
            raise self._refuse(self.declared)

    def receive_data_chunk(self, raw_data, start):
        # A body that did not announce its length (chunked) is counted as it arrives.
        received = start + len(raw_data)
        if received > settings.FILE_UPLOAD_MAX_BYTES:
            raise self._refuse(max(received, self.declared))
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handlers (memory, then a temporary file) keep the data
