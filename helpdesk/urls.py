from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView

from cases import views as case_views
from console.sites import console_site
from helpdesk import docs, errors
from helpdesk.api.throttling import throttle_customer_page, throttle_posts_by_address
from helpdesk.health import healthz
from recovery import views as recovery_views


def favicon(request: HttpRequest) -> HttpResponse:
    return HttpResponsePermanentRedirect(static("console/favicon.svg"))


urlpatterns = [
    path("", RedirectView.as_view(pattern_name="console:index"), name="home"),
    path("healthz", healthz, name="healthz"),
    # Browsers ask for /favicon.ico whatever the page says: the console's icon.
    # (resolved per request: the static files' manifest is read then, not at import).
    path("favicon.ico", favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("console/", console_site.urls),
    path("api/v1/", include("helpdesk.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", docs.swagger_ui, name="api-docs"),
    path("api/redoc/", docs.redoc, name="api-redoc"),
    path("problems/<slug:slug>/", errors.problem_type_page, name="problem-type"),
    # The customer's case page and the contact form (cases/): no login, so
    # limited by client address, and the forms anyone may post also by the
    # email address they carry.
    path(
        "contact/",
        throttle_customer_page(throttle_posts_by_address("contact")(case_views.contact)),
        name="contact",
    ),
    # Before the case's own routes, which would take "new-link" for a token.
    path(
        "case/new-link/",
        throttle_customer_page(throttle_posts_by_address("case_link")(case_views.new_link)),
        name="case-new-link",
    ),
    path("case/<str:token>/", throttle_customer_page(case_views.case), name="case"),
    path("case/<str:token>/reply/", throttle_customer_page(case_views.reply), name="case-reply"),
    path("case/<str:token>/rating/", throttle_customer_page(case_views.rate), name="case-rating"),
    path(
        "case/<str:token>/follow-ups/",
        throttle_customer_page(case_views.follow_ups),
        name="case-follow-ups",
    ),
    path(
        "case/<str:token>/files/<int:pk>/",
        throttle_customer_page(case_views.attachment),
        name="case-file",
    ),
    path(
        "case/<str:token>/fresh-link/",
        throttle_customer_page(case_views.fresh_link),
        name="case-fresh-link",
    ),
    # The customers' pages: no login, so limited by address (helpdesk/api/throttling.py).
    path(
        "feedback/<str:token>/",
        throttle_customer_page(recovery_views.feedback),
        name="followup-feedback",
    ),
    path(
        "unsubscribe/<str:token>/",
        throttle_customer_page(recovery_views.unsubscribe),
        name="followup-unsubscribe",
    ),
    # The undo of an unsubscribe: a route of its own, so it keeps the CSRF
    # check the one-click unsubscribe above must do without (RFC 8058).
    path(
        "unsubscribe/<str:token>/undo/",
        throttle_customer_page(recovery_views.resubscribe),
        name="followup-resubscribe",
    ),
]

handler400 = errors.bad_request
handler403 = errors.permission_denied
handler404 = errors.page_not_found
handler500 = errors.server_error
