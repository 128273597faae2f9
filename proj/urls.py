from django.contrib import admin
from django.contrib.staticfiles.urls import staticfiles_urlpatterns
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("proj.demo.urls")),
]
# Serves the admin's CSS and JS when DEBUG is on (the demo); a real deployment uses its web server.
urlpatterns += staticfiles_urlpatterns()
