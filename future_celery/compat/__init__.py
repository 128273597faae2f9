"""Drop-in modules for code written against the systems future_celery absorbs."""
