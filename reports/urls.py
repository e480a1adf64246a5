from django.urls import path

from reports import views

app_name = "reports"
urlpatterns = [
    path("stats/", views.statistics, name="statistics"),
    path("stats/export.csv", views.statistics_csv, name="statistics_csv"),
]
