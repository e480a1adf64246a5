from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.generic import RedirectView
from django.views.i18n import set_language

from accounts import views as account_views
from letters.views import verify

admin.site.site_header = "Pristan"
admin.site.site_title = "Pristan"

urlpatterns = [
    path("", include("casework.urls")),
    path("letters/", include("letters.urls")),
    # Printed on every letter as a QR code: this URL must never change.
    path("v/<str:token>/", verify, name="verify"),
    path("accounts/login/", account_views.login_view, name="login"),
    path("accounts/logout/", account_views.logout_view, name="logout"),
    path("accounts/", include("accounts.urls")),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    # The admin has no login of its own: ours asks for the second factor.
    path(
        "admin/login/",
        login_not_required(RedirectView.as_view(pattern_name="login", query_string=True)),
    ),
    path("admin/logout/", account_views.logout_view),
    path("admin/password_change/", RedirectView.as_view(pattern_name="accounts:password_change")),
    path("admin/", admin.site.urls),
]
