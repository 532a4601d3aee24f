"""Django's own error pages. Under ``/api/`` they answer with problem details,
like the API's exception handler; elsewhere with plain HTML pages."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from helpdesk.api.problems import PROBLEM_TYPES, problem_response


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        detail = f"The request body is larger than the limit of {limit} bytes."
        if _is_api(request):
            return problem_response("payload-too-large", detail=detail, limit_bytes=limit)
        return render(request, "413.html", {"detail": detail}, status=413)
    if _is_api(request):
        return problem_response("malformed-request", detail="The request could not be understood.")
    return render(request, "400.html", status=400)


def unencodable_input(request: HttpRequest, *, where: str) -> HttpResponse:
    """A request carrying a NUL character or an unpaired surrogate."""
    detail = (
        f"{where[0].upper()}{where[1:]} contains a NUL character or an unpaired surrogate, "
        "which text may not hold."
    )
    if _is_api(request):
        return problem_response("malformed-request", detail=detail)
    return render(request, "400.html", {"detail": detail}, status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return problem_response(
            "permission-denied", detail="You do not have permission to perform this action."
        )
    return render(request, "403.html", status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return problem_response("not-found", detail=f"Nothing exists at {request.path}.")
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return problem_response(
            "server-error", detail="An unexpected error occurred. It has been logged."
        )
    # No request context: the failure may lie in a context processor.
    return render(None, "500.html", status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if _is_api(request):
        return problem_response(
            "permission-denied",
            detail="CSRF check failed: send the CSRF token with session authentication, "
            "or use token authentication.",
        )
    return render(request, "403_csrf.html", status=403)


def problem_type_page(request: HttpRequest, slug: str) -> HttpResponse:
    """Documents a problem type at the URI its ``type`` member names."""
    problem = PROBLEM_TYPES.get(slug)
    if problem is None:
        raise Http404(slug)
    return render(request, "problems/detail.html", {"problem": problem})
