"""The trust dashboard's figures over the API."""

import re
from datetime import date

from django.utils import timezone
from django.utils.dateparse import parse_date
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from core.errors import RuleViolation
from core.schema import UNPROCESSABLE, RuleProblemSerializer
from recovery.api import serializers as s
from recovery.api.views import HasPerm
from recovery.metrics import DATE_RANGE_TEXT, trust_metrics
from recovery.metrics.ranges import API_MAX_DAYS, date_error, default_range, range_error

# The schema's half of the range check: a date of the years 2000 to 2100.
# (OpenAPI 3.0 has no minimum for dates; the view checks the exact bounds.)
_DATE_PATTERN = "^(20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}$"
_ISO_DATE = re.compile("[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _date_param(request: Request, name: str, default: date) -> date:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        # YYYY-MM-DD only: parse_date also takes 20260101 and 2026-1-5.
        value = parse_date(raw) if _ISO_DATE.fullmatch(raw) else None
    except ValueError:  # well formed but impossible, such as 2026-02-30
        value = None
    if value is None:
        raise ValidationError({name: f"{raw!r} is not a date; use YYYY-MM-DD."})
    error = date_error(value)
    if error:
        raise ValidationError({name: error})
    return value


def _date_parameter(name: str, default: str) -> OpenApiParameter:
    return OpenApiParameter(
        name,
        OpenApiTypes.DATE,
        description=f"From {DATE_RANGE_TEXT}; {default} by default.",
        pattern=_DATE_PATTERN,
    )


class CanViewDashboard(HasPerm):
    perm = "recovery.view_trust_dashboard"


class TrustMetricsView(GenericAPIView):
    """The supervisor dashboard's figures, for ``start`` to ``end`` inclusive
    (dates in the deployment's time zone; the last 30 days by default)."""

    permission_classes = [IsAuthenticated, CanViewDashboard]
    serializer_class = s.TrustMetricsSerializer

    @extend_schema(
        parameters=[_date_parameter("start", "30 days ago"), _date_parameter("end", "today")],
        responses={200: s.TrustMetricsSerializer, UNPROCESSABLE: RuleProblemSerializer},
        summary="Trust dashboard figures",
    )
    def get(self, request: Request) -> Response:
        default_start, default_end = default_range(zone=timezone.get_default_timezone())
        start = _date_param(request, "start", default_start)
        end = _date_param(request, "end", default_end)
        # Each date is valid alone; together they may break a rule (422).
        error = range_error(start, end, max_days=API_MAX_DAYS)
        if error:
            raise RuleViolation(error, field="start")
        metrics = trust_metrics(start=start, end=end)
        return Response(s.TrustMetricsSerializer(metrics.as_dict()).data)
