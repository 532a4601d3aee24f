"""API wiring shared by every app: problem details, pagination, schema."""
