"""The quarantine: admins see every inbound message, download its raw bytes,
retry a quarantined one or discard it. Each action calls one service."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from accounts.models import User
from core.admin import ReadOnlyAdmin
from core.errors import DomainError
from inbound.models import InboundEmail
from inbound.services import inbound_discard, inbound_retry


@admin.register(InboundEmail)
class InboundEmailAdmin(ReadOnlyAdmin):
    list_display = (
        "received_at",
        "sender",
        "subject",
        "status",
        "outcome",
        "reason",
        "retry_can_help",
        "ticket",
    )
    list_filter = ("status", "outcome", "source")
    search_fields = ("sender", "subject", "message_id")
    list_select_related = ("ticket",)
    exclude = ("raw",)
    actions = ("retry", "discard")

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:pk>/raw/",
                self.admin_site.admin_view(self.raw_view),
                name="inbound_inboundemail_raw",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="Raw message")
    def raw_download(self, email: InboundEmail) -> str:
        url = reverse("admin:inbound_inboundemail_raw", args=[email.pk])
        return format_html('<a href="{}">Download the .eml ({} bytes)</a>', url, email.size)

    def raw_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        email = get_object_or_404(InboundEmail, pk=pk)
        response = HttpResponse(bytes(email.raw), content_type="message/rfc822")
        response["Content-Disposition"] = f'attachment; filename="inbound-{email.pk}.eml"'
        return response

    def _run(self, request: HttpRequest, emails: QuerySet[InboundEmail], action: Any) -> None:
        done, refused = 0, []
        for email in emails:
            try:
                action(email)
                done += 1
            except DomainError as error:
                refused.append(f"#{email.pk}: {error.detail}")
        if done:
            messages.success(request, f"{done} message(s) done.")
        for line in refused:
            messages.error(request, line)

    @admin.action(description="Retry the selected quarantined messages", permissions=["change"])
    def retry(self, request: HttpRequest, emails: QuerySet[InboundEmail]) -> None:
        actor: User = request.user  # type: ignore[assignment]
        self._run(request, emails, lambda email: inbound_retry(email=email, actor=actor))

    @admin.action(description="Discard the selected quarantined messages", permissions=["change"])
    def discard(self, request: HttpRequest, emails: QuerySet[InboundEmail]) -> None:
        actor: User = request.user  # type: ignore[assignment]
        self._run(
            request,
            emails,
            lambda email: inbound_discard(email=email, actor=actor, reason="from the admin"),
        )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The actions need it; the page itself edits nothing (every field read-only).
        return request.user.has_perm("inbound.change_inboundemail")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = [f.name for f in InboundEmail._meta.fields if f.name != "raw"]
        return [*fields, "raw_download"]
