from django.urls import path

from accounts.api import MeView, StaffListView

urlpatterns = [
    path("me/", MeView.as_view(), name="me"),
    path("staff/", StaffListView.as_view(), name="staff-list"),
]
