"""/v1/integrations and /v1/sync-runs: validate, call a service or selector, respond.

Vendor failures while listing a vendor's lists answer ``424 Failed Dependency`` with the
vendor's complaint in plain words: the request was fine, the vendor was not, and a 5xx
would wrongly say the CRM broke.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api import (
    COMMON,
    E400,
    E404,
    ID_PATH,
    PAGINATION_PARAMETERS,
    ErrorSerializer,
    PipelineAPIView,
    int_param,
    parse_query,
)
from integrations import crypto, engine, selectors, services
from integrations import schema as _schema  # noqa: F401  (registers its OpenAPI extensions)
from integrations.filters import SyncRunFilterSet
from integrations.http import AuthError, ProviderError, RateLimited
from integrations.models import SyncRun
from integrations.serializers import (
    ExportRequestSerializer,
    IntegrationCreateSerializer,
    IntegrationPageSerializer,
    IntegrationSerializer,
    IntegrationUpdateSerializer,
    SyncFailurePageSerializer,
    SyncRunConflictSerializer,
    SyncRunPageSerializer,
    SyncRunSerializer,
    TestResultSerializer,
    VendorListsSerializer,
    integration_to_dict,
    run_to_dict,
)
from leads.filters import EmptyFilterSet

E424 = OpenApiResponse(ErrorSerializer, description="The vendor refused or failed the request.")
E409_RUN = OpenApiResponse(
    SyncRunConflictSerializer, description="A run of this direction is already queued or running."
)


class IntegrationListView(PipelineAPIView):
    @extend_schema(
        operation_id="integrations_list", responses={200: IntegrationPageSerializer, **COMMON}
    )
    def get(self, request: Request) -> Response:
        parse_query(request.query_params, EmptyFilterSet, paginated=False)
        return Response(selectors.integration_list(user=request.user).as_dict())

    @extend_schema(
        operation_id="integrations_create",
        request=IntegrationCreateSerializer,
        responses={201: IntegrationSerializer, 400: E400, **COMMON},
    )
    def post(self, request: Request) -> Response:
        serializer = IntegrationCreateSerializer(data=request.data, user=request.user)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        integration = services.integration_create(
            user=request.user,
            provider=data["provider"],
            credentials=data["credentials"],
            settings=dict(data.get("settings") or {}),
        )
        return Response(
            integration_to_dict(integration),
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/v1/integrations/{integration.pk}"},
        )


class IntegrationDetailView(PipelineAPIView):
    @extend_schema(
        operation_id="integrations_retrieve",
        parameters=ID_PATH,
        responses={200: IntegrationSerializer, 404: E404, **COMMON},
    )
    def get(self, request: Request, id: str) -> Response:
        parse_query(request.query_params, EmptyFilterSet, paginated=False)
        integration = selectors.integration_get(
            user=request.user, integration_id=self.object_id(id)
        )
        return Response(integration_to_dict(integration))

    @extend_schema(
        operation_id="integrations_partial_update",
        parameters=ID_PATH,
        request=IntegrationUpdateSerializer,
        responses={200: IntegrationSerializer, 400: E400, 404: E404, **COMMON},
    )
    def patch(self, request: Request, id: str) -> Response:
        integration = selectors.integration_get(
            user=request.user, integration_id=self.object_id(id)
        )
        serializer = IntegrationUpdateSerializer(data=request.data, integration=integration)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        integration = services.integration_update(
            integration=integration,
            credentials=data.get("credentials"),
            settings=dict(data.get("settings") or {}),
        )
        return Response(integration_to_dict(integration))

    @extend_schema(
        operation_id="integrations_destroy",
        parameters=ID_PATH,
        responses={204: None, 404: E404, **COMMON},
    )
    def delete(self, request: Request, id: str) -> Response:
        integration = selectors.integration_get(
            user=request.user, integration_id=self.object_id(id)
        )
        services.integration_delete(integration=integration)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _vendor_failure(exc: Exception) -> Response:
    if isinstance(exc, AuthError):
        detail = f"The vendor refused the saved credentials: {exc.message}"
    elif isinstance(exc, ProviderError):
        detail = exc.message
    else:
        detail = str(exc)
    headers = {}
    if isinstance(exc, RateLimited) and exc.retry_after:
        headers["Retry-After"] = str(max(1, int(exc.retry_after)))
    return Response({"detail": detail}, status=424, headers=headers)


class IntegrationListsView(PipelineAPIView):
    @extend_schema(
        operation_id="integrations_lists",
        parameters=ID_PATH,
        responses={200: VendorListsSerializer, 404: E404, 424: E424, **COMMON},
    )
    def get(self, request: Request, id: str) -> Response:
        parse_query(request.query_params, EmptyFilterSet, paginated=False)
        integration = selectors.integration_get(
            user=request.user, integration_id=self.object_id(id)
        )
        try:
            lists = services.integration_lists(integration=integration)
        except (ProviderError, crypto.DecryptionError) as exc:
            return _vendor_failure(exc)
        return Response(
            {
                "data": [
                    {"id": item.id, "name": item.name, "count": item.count, "kind": item.kind}
                    for item in lists
                ]
            }
        )


class IntegrationTestView(PipelineAPIView):
    @extend_schema(
        operation_id="integrations_test",
        parameters=ID_PATH,
        request=None,
        responses={200: TestResultSerializer, 404: E404, **COMMON},
    )
    def post(self, request: Request, id: str) -> Response:
        integration = selectors.integration_get(
            user=request.user, integration_id=self.object_id(id)
        )
        ok, detail = services.integration_test(integration=integration)
        return Response({"ok": True} if ok else {"ok": False, "detail": detail})


def _start(request: Request, id: int, direction: str, params: dict) -> Response:
    integration = selectors.integration_get(user=request.user, integration_id=id)
    try:
        run = services.sync_start(integration=integration, direction=direction, params=params)
    except engine.RunAlreadyActive as exc:
        return Response(
            {
                "detail": f"An {direction} of this integration is already {exc.run.state}.",
                "run_id": exc.run.pk,
                "run": run_to_dict(exc.run),
            },
            status=status.HTTP_409_CONFLICT,
        )
    return Response(
        run_to_dict(run),
        status=status.HTTP_202_ACCEPTED,
        headers={"Location": f"/v1/sync-runs/{run.pk}"},
    )


class IntegrationImportView(PipelineAPIView):
    @extend_schema(
        operation_id="integrations_import",
        parameters=ID_PATH,
        request=None,
        responses={202: SyncRunSerializer, 404: E404, 409: E409_RUN, **COMMON},
    )
    def post(self, request: Request, id: str) -> Response:
        return _start(request, self.object_id(id), SyncRun.Direction.IMPORT, {})


class IntegrationExportView(PipelineAPIView):
    @extend_schema(
        operation_id="integrations_export",
        parameters=ID_PATH,
        request=ExportRequestSerializer,
        responses={202: SyncRunSerializer, 400: E400, 404: E404, 409: E409_RUN, **COMMON},
    )
    def post(self, request: Request, id: str) -> Response:
        integration_id = self.object_id(id)
        selectors.integration_get(user=request.user, integration_id=integration_id)
        body = request.data if request.data else {}
        serializer = ExportRequestSerializer(data=body, user=request.user)
        serializer.is_valid(raise_exception=True)
        return _start(request, integration_id, SyncRun.Direction.EXPORT, serializer.validated_data)


class SyncRunListView(PipelineAPIView):
    @extend_schema(
        operation_id="sync_runs_list",
        parameters=[
            int_param("integration_id", "Runs of this integration."),
            OpenApiParameter(
                "state",
                str,
                enum=[value for value, _ in SyncRun.STATE_CHOICES],
                description="Runs in this state.",
            ),
            *PAGINATION_PARAMETERS,
        ],
        responses={200: SyncRunPageSerializer, 400: E400, **COMMON},
    )
    def get(self, request: Request) -> Response:
        filters, cursor, limit = parse_query(request.query_params, SyncRunFilterSet, paginated=True)
        page = selectors.run_list(
            user=request.user,
            integration_id=filters.get("integration_id"),
            state=filters.get("state") or None,
            cursor=cursor,
            limit=limit,
        )
        return Response(page.as_dict())


class SyncRunDetailView(PipelineAPIView):
    @extend_schema(
        operation_id="sync_runs_retrieve",
        parameters=ID_PATH,
        responses={200: SyncRunSerializer, 404: E404, **COMMON},
    )
    def get(self, request: Request, id: str) -> Response:
        parse_query(request.query_params, EmptyFilterSet, paginated=False)
        return Response(
            run_to_dict(selectors.run_get(user=request.user, run_id=self.object_id(id)))
        )


class SyncRunCancelView(PipelineAPIView):
    @extend_schema(
        operation_id="sync_runs_cancel",
        parameters=ID_PATH,
        request=None,
        responses={200: SyncRunSerializer, 404: E404, **COMMON},
    )
    def post(self, request: Request, id: str) -> Response:
        run = selectors.run_get(user=request.user, run_id=self.object_id(id))
        return Response(run_to_dict(engine.run_cancel(run=run)))


class SyncRunFailuresView(PipelineAPIView):
    @extend_schema(
        operation_id="sync_runs_failures",
        parameters=ID_PATH + PAGINATION_PARAMETERS,
        responses={200: SyncFailurePageSerializer, 400: E400, 404: E404, **COMMON},
    )
    def get(self, request: Request, id: str) -> Response:
        run_id = self.object_id(id)
        _, cursor, limit = parse_query(request.query_params, EmptyFilterSet, paginated=True)
        page = selectors.failure_list(user=request.user, run_id=run_id, cursor=cursor, limit=limit)
        return Response(page.as_dict())
