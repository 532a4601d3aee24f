from core.pagination import StrictPageNumberPagination


class PagePagination(StrictPageNumberPagination):
    """Numbered pages of 50 by default; clients may ask for 1 to 200
    (anything else is a 400 naming the limit)."""
