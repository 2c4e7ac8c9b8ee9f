from django.urls import path

from mederi.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("mfa/", views.verify, name="mfa"),
    path("mfa/enrol/", views.enrol, name="mfa_enrol"),
]
