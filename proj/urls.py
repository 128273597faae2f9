from django.contrib import admin
from django.urls import include, path

# The admin's and the demo's CSS and JS are served by WhiteNoise (proj/settings.py).
urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("proj.demo.urls")),
]
