from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.generic import RedirectView

from accounts import views as account_views
from config.health import health
from letters.views import verify, verify_code

# Everything requires a logged-in, two-factor-verified user (LoginRequiredMiddleware and
# accounts.middleware), except these views, marked `login_not_required` where they are
# defined. tests/test_public_urls.py fails if a view becomes public without being listed here.
PUBLIC_URL_NAMES = {
    "login",  # the first step of logging in
    "logout",  # harmless without a session
    "accounts:verify",  # the second factor, for a session that passed the password step
    "accounts:enrol",  # setting up the second factor, same
    "accounts:emergency_lock",  # "my phone was taken": must work without logging in
    "accounts:calendar_feed",  # a calendar app's subscription: the secret token is the key
    "set_language",  # the language switch on the login page
    "verify",  # the public verification page printed on letters
    "verify_code",  # its form for typing the code printed on a letter
    "health",  # for load balancers and monitoring; says nothing about clients (config.health)
    "admin-login",  # redirects to our login
    "admin-logout",  # our logout
    "admin:login",  # Django's admin login, shadowed by admin-login (never reached)
}

admin.site.site_header = "Pristan"
admin.site.site_title = "Pristan"

urlpatterns = [
    path("", include("casework.urls")),
    path("", include("reports.urls")),
    path("letters/", include("letters.urls")),
    # Printed on every letter as a QR code: this URL must never change.
    path("v/<str:token>/", verify, name="verify"),
    path("v/", verify_code, name="verify_code"),
    path("health/", health, name="health"),  # answered by config.health.HealthCheckMiddleware
    path("accounts/login/", account_views.login_view, name="login"),
    path("accounts/logout/", account_views.logout_view, name="logout"),
    path("accounts/", include("accounts.urls")),
    path("i18n/setlang/", account_views.set_language_view, name="set_language"),
    # The admin has no login of its own: ours asks for the second factor.
    path(
        "admin/login/",
        login_not_required(RedirectView.as_view(pattern_name="login", query_string=True)),
        name="admin-login",
    ),
    path("admin/logout/", account_views.logout_view, name="admin-logout"),
    path("admin/password_change/", RedirectView.as_view(pattern_name="accounts:password_change")),
    path("admin/", admin.site.urls),
]

# A database that does not answer gets a calm 503 page; anything else Django's 500 page.
handler500 = "config.errors.server_error"
