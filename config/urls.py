from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from letters.views import verify

admin.site.site_header = "Pristan"
admin.site.site_title = "Pristan"

urlpatterns = [
    path("", include("casework.urls")),
    path("letters/", include("letters.urls")),
    # Printed on every letter as a QR code: this URL must never change.
    path("v/<str:token>/", verify, name="verify"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("admin/", admin.site.urls),
]
