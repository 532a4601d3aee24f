"""Plain Python shared by every app: no models, no Django app, no imports of ours."""
