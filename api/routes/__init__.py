"""HTTP routes, one module per resource. Each route validates, calls ``kb``, and renders."""
