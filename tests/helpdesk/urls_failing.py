"""A URL configuration whose API view fails, to test the 500 problem response."""

from django.urls import include, path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from helpdesk import urls as project_urls


class FailingView(APIView):
    permission_classes = []

    def get(self, request: Request) -> Response:
        raise RuntimeError("boom: an unexpected bug")


urlpatterns = [
    path("api/v1/failing/", FailingView.as_view()),
    path("", include("helpdesk.urls")),
]

handler400 = project_urls.handler400
handler403 = project_urls.handler403
handler404 = project_urls.handler404
handler500 = project_urls.handler500
