"""The API's documentation pages, under the strict Content-Security-Policy.

drf-spectacular's own pages start Swagger UI and Redoc with inline scripts and
styles; ours use its split view (Swagger UI's start-up script from its own
URL, ``?script``) and templates/api/, whose scripts and styles are static files.
"""

from typing import Any

from csp.constants import NONCE
from csp.decorators import csp_update
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

swagger_ui = SpectacularSwaggerSplitView.as_view(
    url_name="schema", template_name="api/swagger_ui.html"
)

# What Redoc's bundle needs beyond the site's policy, on this page only (each
# found by the browser test, tests/helpdesk/test_headers_browser.py):
REDOC_POLICY: dict[str, Any] = {
    # styled-components adds <style> elements carrying the nonce we hand Redoc
    # (static/helpdesk/redoc-init.js); perfect-scrollbar's CSS is added at load,
    # before Redoc knows the nonce: allowed by the hashes of its exact text (the
    # element is empty at first). A new Redoc build changes the second hash.
    "style-src": [
        NONCE,
        "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",
        "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",
    ],
    # The search index is built in a worker made from a blob: URL.
    "worker-src": ["'self'", "blob:"],
}
redoc = csp_update(REDOC_POLICY)(
    SpectacularRedocView.as_view(url_name="schema", template_name="api/redoc.html")
)
