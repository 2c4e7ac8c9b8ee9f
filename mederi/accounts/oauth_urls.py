"""OAuth 2.0 endpoints for SMART apps and backend services (under /oauth/)."""

from django.urls import path
from oauth2_provider import views as dot

from mederi.accounts import smart_views

app_name = "oauth"

urlpatterns = [
    path("authorize", smart_views.SmartAuthorizationView.as_view(), name="authorize"),
    path("token", dot.TokenView.as_view(), name="token"),
    path("revoke", dot.RevokeTokenView.as_view(), name="revoke"),
    path("introspect", smart_views.introspect, name="introspect"),
    path("launch/<str:client_id>", smart_views.ehr_launch, name="launch"),
]
