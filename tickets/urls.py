from django.urls import path

from tickets.api.notifications import (
    NotificationListView,
    NotificationReadAllView,
    NotificationReadView,
)
from tickets.api.saved_replies import SavedReplyListView

# The tickets themselves (tickets.api.views.ticket_urlpatterns) are served by
# helpdesk.api.urls, with the detail recovery adds to.
urlpatterns = [
    path("saved-replies/", SavedReplyListView.as_view(), name="saved-reply-list"),
    path("notifications/", NotificationListView.as_view(), name="notification-list"),
    path(
        "notifications/read-all/", NotificationReadAllView.as_view(), name="notification-read-all"
    ),
    path("notifications/<int:pk>/read/", NotificationReadView.as_view(), name="notification-read"),
]
