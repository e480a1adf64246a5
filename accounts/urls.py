from django.urls import path

from accounts import feed_views, views

app_name = "accounts"

urlpatterns = [
    path("login/code/", views.verify_view, name="verify"),
    path("login/enrol/", views.enrol_view, name="enrol"),
    path("security/", views.security_view, name="security"),
    path("security/recovery-codes/", views.recovery_codes_view, name="recovery_codes"),
    path("security/calendar/", feed_views.calendar_feed_manage, name="calendar_feed_manage"),
    path("calendar/<str:token>/", feed_views.calendar_feed, name="calendar_feed"),
    path("security/log-out-everywhere/", views.logout_everywhere_view, name="logout_everywhere"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("lock/", views.emergency_lock_view, name="emergency_lock"),
    path("organisation-lockdown/", views.organisation_lockdown_view, name="organisation_lockdown"),
]
