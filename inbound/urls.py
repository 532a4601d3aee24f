from django.urls import path

from inbound.api import InboundEmailView

urlpatterns = [path("inbound/email/", InboundEmailView.as_view(), name="inbound-email")]
