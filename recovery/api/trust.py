"""A customer's trust profile over the API."""

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Customer
from recovery.api import serializers as s
from recovery.api.views import HasPerm
from recovery.trust import trust_profile


class CanViewCustomers(HasPerm):
    perm = "accounts.view_customer"


class CustomerTrustView(GenericAPIView):
    """The customer's trust level, the reasons for it in plain sentences, and
    every figure it was decided from, as of now. Counts every ticket of the
    customer, whichever queue holds it: it is about the customer."""

    permission_classes = [IsAuthenticated, CanViewCustomers]
    serializer_class = s.TrustProfileSerializer

    @extend_schema(summary="A customer's trust profile")
    def get(self, request: Request, pk: int) -> Response:
        try:
            profile = trust_profile(pk)
        except Customer.DoesNotExist:
            raise NotFound("No customer with that id.") from None
        return Response(profile.as_dict())
