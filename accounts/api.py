"""Staff identity endpoints: who am I, and the staff directory."""

from typing import Any, cast

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.roles import Role
from accounts.selectors import staff_list
from accounts.services import staff_update_profile
from core.serializers import RejectUnknownFieldsMixin, StrictCharField, TimeZoneField


def staff(request: Request) -> User:
    """The caller, known to be staff once the permission classes have passed."""
    return cast(User, request.user)


class StaffSerializer(serializers.ModelSerializer):
    role = serializers.ChoiceField(choices=Role.choices, allow_null=True, read_only=True)

    class Meta:
        model = User
        fields = ("id", "username", "email", "first_name", "last_name", "role", "time_zone")
        read_only_fields = fields


class ProfileUpdateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    first_name = StrictCharField(max_length=150, allow_blank=True, required=False)
    last_name = StrictCharField(max_length=150, allow_blank=True, required=False)
    email = serializers.EmailField(required=False)
    time_zone = TimeZoneField(allow_blank=True, required=False)


class MeView(APIView):
    """The caller: identity, role and time zone."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=StaffSerializer, summary="Who am I")
    def get(self, request: Request) -> Response:
        return Response(StaffSerializer(request.user).data)

    @extend_schema(
        request=ProfileUpdateSerializer, responses=StaffSerializer, summary="Update my profile"
    )
    def patch(self, request: Request) -> Response:
        payload = ProfileUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        user = staff_update_profile(user=staff(request), **payload.validated_data)
        return Response(StaffSerializer(user).data)


class CanViewStaffDirectory(BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.has_perm("accounts.view_staff_directory"))


class StaffListView(ListAPIView):
    """Active staff and their roles, for supervisors and admins."""

    serializer_class = StaffSerializer
    permission_classes = [IsAuthenticated, CanViewStaffDirectory]

    @extend_schema(
        parameters=[OpenApiParameter("role", enum=Role.values, description="Only this role.")],
        summary="List staff",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        role = self.request.query_params.get("role")
        if role is not None and role not in Role.values:
            raise ValidationError(
                {"role": f"Unknown role {role!r}; use one of {', '.join(Role.values)}."}
            )
        return staff_list(role=Role(role) if role else None)
