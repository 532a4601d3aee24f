"""Restitution, authority and approval endpoints: thin views over the services."""

from typing import Any

from django.contrib.auth import get_user_model
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api import staff
from accounts.models import User
from core.schema import UNPROCESSABLE, RuleProblemSerializer
from core.serializers import OptionalReasonSerializer, ReasonSerializer, represented
from recovery.api import serializers as s
from recovery.models import ApprovalRequest, FollowUp, Restitution
from recovery.selectors import (
    approvals_to_decide,
    approvals_visible_to,
    authority_history,
    authority_remaining,
    followups_visible_to,
    policy_for,
    restitutions_visible_to,
    ticket_followups,
    ticket_restitutions,
)
from recovery.services import (
    approval_decide,
    authority_policy_set,
    restitution_grant,
    restitution_void,
    run_idempotent,
)
from recovery.services.followups import followup_cancel
from recovery.services.idempotency import Keep, fingerprint
from recovery.services.restitutions import REPEAT_FAILURE_GUIDANCE, guidance_for
from tickets.models import Ticket
from tickets.selectors import tickets_visible_to

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"


class HasPerm(BasePermission):
    perm = ""

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user.has_perm(self.perm))


class CanGrant(HasPerm):
    perm = "recovery.add_restitution"


class CanDecide(HasPerm):
    perm = "recovery.decide_approvalrequest"


class CanViewPolicies(HasPerm):
    perm = "recovery.view_authoritypolicy"


class TicketRestitutionsView(GenericAPIView):
    permission_classes = [IsAuthenticated, CanGrant]
    serializer_class = s.RestitutionSerializer
    # One ticket's few rows: a plain array, not pages.
    pagination_class = None

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Restitution.objects.none()
        return tickets_visible_to(staff(self.request)).select_related("queue")

    @extend_schema(responses=s.RestitutionSerializer(many=True), summary="A ticket's restitutions")
    def get(self, request: Request, pk: int) -> Response:
        ticket = self.get_object()
        restitutions = ticket_restitutions(ticket=ticket)
        return Response(s.RestitutionSerializer(restitutions, many=True).data)

    @extend_schema(
        request=s.GrantSerializer,
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                location=OpenApiParameter.HEADER,
                description="Retries with the same key and body return the first response.",
            )
        ],
        responses={
            201: s.GrantResultSerializer,
            202: s.GrantResultSerializer,
            UNPROCESSABLE: RuleProblemSerializer,
        },
        summary="Grant a restitution (202 when it needs a supervisor's approval)",
    )
    def post(self, request: Request, pk: int) -> Response:
        payload = s.GrantSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        user = staff(request)

        def respond(restitution: Restitution) -> tuple[int, dict[str, Any]]:
            body = represented(s.GrantResultSerializer, restitution)
            guidance = guidance_for(
                amount=restitution.amount,
                loss=restitution.customer_loss,
                currency=restitution.currency,
            )
            body["guidance"] = represented(s.GuidanceSerializer, guidance) if guidance else None
            body["repeat_failure_guidance"] = (
                REPEAT_FAILURE_GUIDANCE if restitution.ticket.is_repeat_failure else None
            )
            pending = restitution.status == Restitution.Status.PENDING_APPROVAL
            return (status.HTTP_202_ACCEPTED if pending else status.HTTP_201_CREATED), body

        def grant(keep: Keep | None = None) -> tuple[int, dict[str, Any]]:
            answer: list[tuple[int, dict[str, Any]]] = []

            # Called again if the charge refuses what the counters read let
            # through: the grant is then made again, as a request.
            def answered(restitution: Restitution) -> None:
                answer[:] = [respond(restitution)]
                if keep is not None:
                    keep(*answer[0])

            # The service finds the ticket among those the caller may see
            # with the same query that locks it.
            try:
                restitution_grant(ticket=int(pk), actor=user, **data, before_commit=answered)
            except Ticket.DoesNotExist:
                raise Http404("No ticket with that number that you can see.") from None
            return answer[0]

        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is None:
            code, body = grant()
            return Response(body, status=code)
        outcome = run_idempotent(
            user=user,
            key=key,
            fingerprint=fingerprint(method="POST", path=request.path, body=request.data),
            action=grant,
        )
        headers = {REPLAY_HEADER: "true"} if outcome.replayed else {}
        return Response(outcome.body, status=outcome.status, headers=headers)


class RestitutionVoidView(GenericAPIView):
    permission_classes = [IsAuthenticated, CanGrant]
    serializer_class = s.RestitutionSerializer

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Restitution.objects.none()
        return restitutions_visible_to(staff(self.request))

    @extend_schema(
        request=ReasonSerializer,
        responses={200: s.RestitutionSerializer, UNPROCESSABLE: RuleProblemSerializer},
        summary="Void a restitution; its amount returns to the budgets",
    )
    def post(self, request: Request, pk: int) -> Response:
        restitution = self.get_object()
        payload = ReasonSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        voided = restitution_void(
            restitution=restitution, actor=staff(request), **payload.validated_data
        )
        return Response(s.RestitutionSerializer(voided).data)


def _authority(user: User) -> dict[str, Any]:
    left = authority_remaining(user)
    policy = left.policy
    return {
        "user": user.pk,
        "currency": policy.currency,
        "per_incident_limit": policy.per_incident_limit,
        "period": policy.period,
        "period_start": left.period_start,
        "per_period_limit": policy.per_period_limit,
        "period_spent": left.period_spent,
        "period_remaining": left.period_remaining,
        "per_customer_limit": policy.per_customer_limit,
        "allowed_kinds": list(policy.allowed_kinds),
        "is_default": policy.is_default,
    }


class AuthorityMeView(GenericAPIView):
    permission_classes = [IsAuthenticated, CanGrant]
    serializer_class = s.AuthoritySerializer

    @extend_schema(responses=s.AuthoritySerializer, summary="My limits and what is left now")
    def get(self, request: Request) -> Response:
        return Response(s.AuthoritySerializer(_authority(staff(request))).data)


class PolicyView(GenericAPIView):
    permission_classes = [IsAuthenticated, CanViewPolicies]
    serializer_class = s.PolicySerializer

    def _user(self, user_id: int) -> User:
        return get_object_or_404(get_user_model(), pk=user_id, is_staff=True)

    def get_object(self) -> User:
        # The object is a user, not a row of a queryset; OPTIONS asks for it.
        return self._user(self.kwargs["user_id"])

    def _render(self, user: User) -> Response:
        policy = policy_for(user)
        history = [
            {
                "changed_at": change.changed_at.isoformat(),
                "changed_by": change.changed_by_id,
                "old": change.old,
                "new": change.new,
            }
            for change in authority_history(user=user)[:50]
        ]
        data = {"user": user.pk, **policy.as_record(), "history": history}
        return Response(s.PolicySerializer(data).data)

    @extend_schema(responses=s.PolicySerializer, summary="A staff member's authority policy")
    def get(self, request: Request, user_id: int) -> Response:
        return self._render(self._user(user_id))

    @extend_schema(
        request=s.PolicyInputSerializer,
        responses={200: s.PolicySerializer, UNPROCESSABLE: RuleProblemSerializer},
        summary="Set a staff member's authority policy (supervisors and admins)",
    )
    def put(self, request: Request, user_id: int) -> Response:
        user = self._user(user_id)
        payload = s.PolicyInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        authority_policy_set(user=user, actor=staff(request), values=dict(payload.validated_data))
        return self._render(user)


class ApprovalListView(ListAPIView):
    """Supervisors see every request; an agent sees their own."""

    permission_classes = [IsAuthenticated, CanGrant]
    serializer_class = s.ApprovalSerializer

    @extend_schema(
        parameters=[OpenApiParameter("status", enum=ApprovalRequest.Status.values)],
        summary="Approval requests",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return ApprovalRequest.objects.none()
        wanted = self.request.query_params.get("status")
        if wanted is not None and wanted not in ApprovalRequest.Status.values:
            raise ValidationError(
                {"status": f"Use one of {', '.join(ApprovalRequest.Status.values)}."}
            )
        return approvals_visible_to(staff(self.request), status=wanted)


class DecisionView(GenericAPIView):
    permission_classes = [IsAuthenticated, CanDecide]
    serializer_class = s.ApprovalSerializer
    approve = True

    def get_queryset(self) -> Any:
        return approvals_to_decide()

    def post(self, request: Request, pk: int) -> Response:
        approval = self.get_object()
        form = OptionalReasonSerializer if self.approve else ReasonSerializer
        payload = form(data=request.data)
        payload.is_valid(raise_exception=True)
        decided = approval_decide(
            approval=approval, actor=staff(request), approve=self.approve, **payload.validated_data
        )
        decided = self.get_queryset().get(pk=decided.pk)
        return Response(s.ApprovalSerializer(decided).data)


class ApproveView(DecisionView):
    approve = True

    @extend_schema(
        request=OptionalReasonSerializer,
        responses={200: s.ApprovalSerializer, UNPROCESSABLE: RuleProblemSerializer},
        summary="Approve, charged to your own authority",
    )
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)


class RejectView(DecisionView):
    approve = False

    @extend_schema(
        request=ReasonSerializer,
        responses={200: s.ApprovalSerializer, UNPROCESSABLE: RuleProblemSerializer},
        summary="Reject, with a reason",
    )
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)


class TicketFollowUpsView(GenericAPIView):
    permission_classes = [IsAuthenticated, CanGrant]
    serializer_class = s.FollowUpSerializer
    # One ticket's few rows: a plain array, not pages.
    pagination_class = None

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return FollowUp.objects.none()
        return tickets_visible_to(staff(self.request)).select_related("queue")

    @extend_schema(responses=s.FollowUpSerializer(many=True), summary="A ticket's follow-ups")
    def get(self, request: Request, pk: int) -> Response:
        ticket = self.get_object()
        followups = ticket_followups(ticket=ticket)
        return Response(s.FollowUpSerializer(followups, many=True).data)


class FollowUpCancelView(GenericAPIView):
    permission_classes = [IsAuthenticated, CanGrant]
    serializer_class = s.FollowUpSerializer

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return FollowUp.objects.none()
        return followups_visible_to(staff(self.request))

    @extend_schema(
        request=ReasonSerializer,
        responses={200: s.FollowUpSerializer, UNPROCESSABLE: RuleProblemSerializer},
        summary="Cancel a pending follow-up, with a reason",
    )
    def post(self, request: Request, pk: int) -> Response:
        followup = self.get_object()
        payload = ReasonSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        cancelled = followup_cancel(
            followup=followup, actor=staff(request), **payload.validated_data
        )
        return Response(s.FollowUpSerializer(cancelled).data)
