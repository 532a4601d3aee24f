from rest_framework.pagination import PageNumberPagination


class PagePagination(PageNumberPagination):
    """Numbered pages of 50 by default; clients may ask for up to 200."""

    page_size_query_param = "page_size"
    max_page_size = 200
