from django.urls import path

from recovery.api import metrics, trust, views

urlpatterns = [
    path(
        "tickets/<int:pk>/restitutions/",
        views.TicketRestitutionsView.as_view(),
        name="ticket-restitutions",
    ),
    path(
        "restitutions/<int:pk>/void/", views.RestitutionVoidView.as_view(), name="restitution-void"
    ),
    path("authority/me/", views.AuthorityMeView.as_view(), name="authority-me"),
    path("authority/policies/<int:user_id>/", views.PolicyView.as_view(), name="authority-policy"),
    path(
        "tickets/<int:pk>/follow-ups/", views.TicketFollowUpsView.as_view(), name="ticket-followups"
    ),
    path("follow-ups/<int:pk>/cancel/", views.FollowUpCancelView.as_view(), name="followup-cancel"),
    path("customers/<int:pk>/trust/", trust.CustomerTrustView.as_view(), name="customer-trust"),
    path("metrics/trust/", metrics.TrustMetricsView.as_view(), name="metrics-trust"),
    path("approvals/", views.ApprovalListView.as_view(), name="approval-list"),
    path("approvals/<int:pk>/approve/", views.ApproveView.as_view(), name="approval-approve"),
    path("approvals/<int:pk>/reject/", views.RejectView.as_view(), name="approval-reject"),
]
