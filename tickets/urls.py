from django.urls import path
from rest_framework.routers import SimpleRouter

from tickets.api.notifications import (
    NotificationListView,
    NotificationReadAllView,
    NotificationReadView,
)
from tickets.api.saved_replies import SavedReplyListView
from tickets.api.views import (
    STEPS,
    MakeMishapView,
    TicketMessagesView,
    TicketViewSet,
    transition_view,
)

router = SimpleRouter()
router.register("tickets", TicketViewSet, basename="ticket")

urlpatterns = [
    *router.urls,
    *(
        path(f"tickets/<int:pk>/{step.name}/", transition_view(step), name=f"ticket-{step.name}")
        for step in STEPS
    ),
    path("tickets/<int:pk>/make-mishap/", MakeMishapView.as_view(), name="ticket-make-mishap"),
    path("tickets/<int:pk>/messages/", TicketMessagesView.as_view(), name="ticket-messages"),
    path("saved-replies/", SavedReplyListView.as_view(), name="saved-reply-list"),
    path("notifications/", NotificationListView.as_view(), name="notification-list"),
    path(
        "notifications/read-all/", NotificationReadAllView.as_view(), name="notification-read-all"
    ),
    path("notifications/<int:pk>/read/", NotificationReadView.as_view(), name="notification-read"),
]
