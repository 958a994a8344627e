"""/v1 API views for leads and companies: validate, call a service or selector, respond."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import QueryDict
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api import (
    COMMON,
    E400,
    E404,
    ID_PATH,
    MAX_ID,
    PAGINATION_PARAMETERS,
    ErrorSerializer,
    PipelineAPIView,
    StrictFieldsMixin,
    parse_query,
    text_param,
)
from leads import reassign, selectors, services
from leads import schema as _schema  # noqa: F401  (registers its OpenAPI extensions)
from leads.filters import (
    GROUP_BY_USER,
    LEAD_FILTERS,
    OWNER_FILTER,
    CompanyFilterSet,
    EmptyFilterSet,
    LeadFilterSet,
    LeadStatsFilterSet,
)
from leads.models import Source
from leads.scope import Scope
from leads.serializers import (
    CompanyConflictSerializer,
    CompanyPageSerializer,
    CompanySerializer,
    CompanyWriteSerializer,
    LeadEventPageSerializer,
    LeadPageSerializer,
    LeadSerializer,
    LeadStatsSerializer,
    LeadWriteSerializer,
    MeSerializer,
    UserPageSerializer,
)

# --- Parameters -----------------------------------------------------------------------------


LEAD_FILTER_PARAMETERS = [spec.openapi() for spec in LEAD_FILTERS]
GROUP_BY_PARAMETER = OpenApiParameter(
    "group_by",
    str,
    enum=[GROUP_BY_USER],
    description="user: add by_user, the counts per owner in your scope.",
)
# --- Leads ----------------------------------------------------------------------------------


class LeadListView(PipelineAPIView):
    @extend_schema(
        operation_id="leads_list",
        parameters=LEAD_FILTER_PARAMETERS + PAGINATION_PARAMETERS,
        responses={200: LeadPageSerializer, 400: E400, **COMMON},
    )
    def get(self, request: Request) -> Response:
        filters, cursor, limit = parse_query(request.query_params, LeadFilterSet, paginated=True)
        page = selectors.lead_list(
            user=request.user,
            filters=selectors.lead_filters_checked(user=request.user, cleaned=filters),
            cursor=cursor,
            limit=limit,
        )
        return Response(page.as_dict())

    @extend_schema(
        operation_id="leads_create",
        request=LeadWriteSerializer,
        responses={201: LeadSerializer, 400: E400, **COMMON},
    )
    def post(self, request: Request) -> Response:
        serializer = LeadWriteSerializer(data=request.data, user=request.user)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        owner = request.user
        if data.get("user_id", owner.pk) != owner.pk:
            owner = reassign.check_assignee(actor=request.user, user_id=data["user_id"])
        data.pop("user_id", None)
        lead = services.lead_create(
            user=owner,
            company=data.pop("company"),
            data=data,
            source=Source.API,
            actor=request.user,
        )
        return Response(
            selectors.lead_to_dict(lead),
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/v1/leads/{lead.pk}"},
        )


class LeadDetailView(PipelineAPIView):
    @extend_schema(
        operation_id="leads_retrieve",
        parameters=ID_PATH,
        responses={200: LeadSerializer, 404: E404, **COMMON},
    )
    def get(self, request: Request, id: str) -> Response:
        parse_query(request.query_params, EmptyFilterSet, paginated=False)
        lead = selectors.lead_get(user=request.user, lead_id=self.object_id(id))
        return Response(selectors.lead_to_dict(lead))

    @extend_schema(
        operation_id="leads_partial_update",
        parameters=ID_PATH,
        request=LeadWriteSerializer(partial=True),
        responses={200: LeadSerializer, 400: E400, 404: E404, **COMMON},
    )
    def patch(self, request: Request, id: str) -> Response:
        lead = selectors.lead_get(user=request.user, lead_id=self.object_id(id))
        serializer = LeadWriteSerializer(
            data=request.data, user=request.user, lead=lead, partial=True
        )
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        to_user_id = data.pop("user_id", lead.user_id)
        if to_user_id != lead.user_id:
            # Reassignment first (the lead moves to the new owner's company), then the rest.
            try:
                reassign.leads_reassign(
                    actor=request.user,
                    leads=Scope.of(request.user).leads().filter(pk=lead.pk),
                    to_user_id=to_user_id,
                    source=Source.API,
                )
            except reassign.EmailTaken as clash:
                return _email_taken(clash)
            lead = selectors.lead_get(user=request.user, lead_id=lead.pk)
        lead = services.lead_update(lead=lead, data=data, source=Source.API, actor=request.user)
        return Response(selectors.lead_to_dict(lead))

    @extend_schema(
        operation_id="leads_destroy",
        parameters=ID_PATH,
        responses={204: None, 404: E404, **COMMON},
    )
    def delete(self, request: Request, id: str) -> Response:
        lead = selectors.lead_get(user=request.user, lead_id=self.object_id(id))
        services.lead_delete(lead=lead, actor=request.user, scope=Scope.of(request.user))
        return Response(status=status.HTTP_204_NO_CONTENT)


class LeadHistoryView(PipelineAPIView):
    @extend_schema(
        operation_id="leads_history",
        parameters=ID_PATH + PAGINATION_PARAMETERS,
        responses={200: LeadEventPageSerializer, 400: E400, 404: E404, **COMMON},
    )
    def get(self, request: Request, id: str) -> Response:
        lead_id = self.object_id(id)
        _, cursor, limit = parse_query(request.query_params, EmptyFilterSet, paginated=True)
        page = selectors.lead_history(
            user=request.user, lead_id=lead_id, cursor=cursor, limit=limit
        )
        return Response(page.as_dict())


# Ids in one reassignment by list (by filters there is no limit: 100,000 leads take seconds).
REASSIGN_MAX_IDS = 10_000
E403_MANAGERS = OpenApiResponse(
    ErrorSerializer, description="Only a team's manager reassigns leads."
)


def _email_taken(clash: reassign.EmailTaken) -> Response:
    return Response(
        {"detail": str(clash), "lead_id": clash.lead_id}, status=status.HTTP_409_CONFLICT
    )


class ReassignConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    lead_id = serializers.IntegerField(help_text="The new owner's lead with the same email.")


E409_REASSIGN = OpenApiResponse(
    ReassignConflictSerializer,
    description="The new owner already has a lead with the email of one being moved: merge "
    "them instead. Nothing was reassigned.",
)


class LeadReassignSerializer(StrictFieldsMixin, serializers.Serializer):
    to_user_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    lead_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        min_length=1,
        max_length=REASSIGN_MAX_IDS,
    )
    filters = serializers.DictField(
        required=False,
        help_text="Any list filter (GET /v1/leads parameters, user_id included).",
    )

    def validate(self, attrs: dict) -> dict:
        if ("lead_ids" in attrs) == ("filters" in attrs):
            raise serializers.ValidationError(
                {"non_field_errors": ["Send either lead_ids or filters, not both or neither."]}
            )
        return attrs


class LeadReassignView(PipelineAPIView):
    @extend_schema(
        operation_id="leads_reassign",
        request=LeadReassignSerializer,
        responses={
            200: inline_serializer("Reassigned", {"reassigned": serializers.IntegerField()}),
            400: E400,
            403: E403_MANAGERS,
            409: E409_REASSIGN,
            **COMMON,
        },
    )
    def post(self, request: Request) -> Response:
        if not Scope.of(request.user).is_manager:
            return Response(
                {"detail": "Only a team's manager reassigns leads."},
                status=status.HTTP_403_FORBIDDEN,
            )
        serializer = LeadReassignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        scope_leads = Scope.of(request.user).leads()
        if "lead_ids" in data:
            ids = set(data["lead_ids"])
            leads = scope_leads.filter(pk__in=ids)
            if leads.count() != len(ids):
                # All or nothing; an id outside the scope reads like a missing one.
                raise serializers.ValidationError(
                    {"lead_ids": ["Some of these ids are not leads you can reassign."]}
                )
        else:
            filters, _, _ = parse_query(
                QueryDict(urlencode(data["filters"])), LeadFilterSet, paginated=False
            )
            checked = selectors.lead_filters_checked(user=request.user, cleaned=filters)
            leads = selectors.narrow_by_search_index(
                selectors.filter_leads(scope_leads, checked), checked
            )
        try:
            moved = reassign.leads_reassign(
                actor=request.user, leads=leads, to_user_id=data["to_user_id"], source=Source.API
            )
        except reassign.EmailTaken as clash:
            return _email_taken(clash)
        return Response({"reassigned": moved})


class LeadStatsView(PipelineAPIView):
    @extend_schema(
        operation_id="leads_stats",
        parameters=[*LEAD_FILTER_PARAMETERS, GROUP_BY_PARAMETER],
        responses={200: LeadStatsSerializer, 400: E400, **COMMON},
    )
    def get(self, request: Request) -> Response:
        filters, _, _ = parse_query(request.query_params, LeadStatsFilterSet, paginated=False)
        stats = selectors.lead_stats(
            user=request.user,
            filters=selectors.lead_filters_checked(user=request.user, cleaned=filters),
            group_by=filters.get("group_by") or None,
        )
        return Response(stats)


# --- Companies ------------------------------------------------------------------------------


class CompanyListView(PipelineAPIView):
    @extend_schema(
        operation_id="companies_list",
        parameters=[
            text_param(
                "q", "Case-insensitive substring of name or domain.", max_length=200, blank=True
            ),
            text_param("domain", "Exact domain, case-insensitive.", max_length=253),
            OWNER_FILTER.parameter(
                OWNER_FILTER.name,
                "Only the companies this user owns: yourself or, for a team's manager, a "
                "member of the team (anyone else is a 400 on user_id).",
            ),
            *PAGINATION_PARAMETERS,
        ],
        responses={200: CompanyPageSerializer, 400: E400, **COMMON},
    )
    def get(self, request: Request) -> Response:
        filters, cursor, limit = parse_query(request.query_params, CompanyFilterSet, paginated=True)
        page = selectors.company_list(
            user=request.user,
            q=filters.get("q") or None,
            domain=filters.get("domain") or None,
            user_id=filters.get("user_id"),
            cursor=cursor,
            limit=limit,
        )
        return Response(page.as_dict())

    @extend_schema(
        operation_id="companies_create",
        request=CompanyWriteSerializer,
        responses={201: CompanySerializer, 400: E400, **COMMON},
    )
    def post(self, request: Request) -> Response:
        serializer = CompanyWriteSerializer(data=request.data, user=request.user)
        serializer.is_valid(raise_exception=True)
        company = services.company_create(user=request.user, data=serializer.validated_data)
        return Response(
            selectors.company_to_dict(company),
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/v1/companies/{company.pk}"},
        )


class CompanyDetailView(PipelineAPIView):
    @extend_schema(
        operation_id="companies_retrieve",
        parameters=ID_PATH,
        responses={200: CompanySerializer, 404: E404, **COMMON},
    )
    def get(self, request: Request, id: str) -> Response:
        parse_query(request.query_params, EmptyFilterSet, paginated=False)
        company = selectors.company_get(user=request.user, company_id=self.object_id(id))
        return Response(selectors.company_to_dict(company))

    @extend_schema(
        operation_id="companies_partial_update",
        parameters=ID_PATH,
        request=CompanyWriteSerializer(partial=True),
        responses={200: CompanySerializer, 400: E400, 404: E404, **COMMON},
    )
    def patch(self, request: Request, id: str) -> Response:
        company = selectors.company_get(user=request.user, company_id=self.object_id(id))
        serializer = CompanyWriteSerializer(
            data=request.data, user=request.user, company=company, partial=True
        )
        serializer.is_valid(raise_exception=True)
        company = services.company_update(company=company, data=serializer.validated_data)
        return Response(selectors.company_to_dict(company))

    @extend_schema(
        operation_id="companies_destroy",
        parameters=ID_PATH,
        responses={
            204: None,
            404: E404,
            409: OpenApiResponse(
                CompanyConflictSerializer, description="The company still has leads."
            ),
            **COMMON,
        },
    )
    def delete(self, request: Request, id: str) -> Response:
        company = selectors.company_get(user=request.user, company_id=self.object_id(id))
        try:
            services.company_delete(company=company)
        except services.CompanyHasLeads as exc:
            return Response(
                {
                    "detail": f"This company still has {exc.count} lead(s); "
                    "move or delete them first.",
                    "lead_count": exc.count,
                },
                status=status.HTTP_409_CONFLICT,
            )
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Users ----------------------------------------------------------------------------------


class MeView(PipelineAPIView):
    @extend_schema(
        operation_id="me_retrieve",
        description="Who you are: your account, your role in your team and the team.",
        responses={200: MeSerializer, 400: E400, **COMMON},
    )
    def get(self, request: Request) -> Response:
        parse_query(request.query_params, EmptyFilterSet, paginated=False)
        return Response(selectors.user_me(user=request.user))


class UserListView(PipelineAPIView):
    @extend_schema(
        operation_id="users_list",
        description="The users in your scope: yourself, and every member of your team (inactive "
        "ones too) when you are its manager.",
        parameters=PAGINATION_PARAMETERS,
        responses={200: UserPageSerializer, 400: E400, **COMMON},
    )
    def get(self, request: Request) -> Response:
        _, cursor, limit = parse_query(request.query_params, EmptyFilterSet, paginated=True)
        return Response(
            selectors.user_list(user=request.user, cursor=cursor, limit=limit).as_dict()
        )
