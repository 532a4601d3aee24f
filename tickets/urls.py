from django.urls import path
from rest_framework.routers import SimpleRouter

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
]
