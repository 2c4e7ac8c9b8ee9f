from django.urls import path

from mederi.accounts import admin_views, emergency_views, views

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("mfa/", views.verify, name="mfa"),
    path("mfa/enrol/", views.enrol, name="mfa_enrol"),
    path("location/", views.choose_location, name="location"),
    # Break the glass: emergency access to a restricted record
    path("emergency-access/", emergency_views.emergency_access, name="emergency_access"),
    # Administration: users, roles and OAuth clients (accounts.manage)
    path("admin/", admin_views.user_list, name="admin"),
    path("admin/users/", admin_views.user_list, name="admin-users"),
    path("admin/users/new/", admin_views.user_new, name="admin-user-new"),
    path("admin/users/<int:user_id>/", admin_views.user_detail, name="admin-user"),
    path("admin/users/<int:user_id>/roles/assign/", admin_views.user_assign_role, name="admin-user-assign"),
    path("admin/users/<int:user_id>/roles/remove/", admin_views.user_remove_role, name="admin-user-remove"),
    path("admin/users/<int:user_id>/deactivate/", admin_views.user_deactivate, name="admin-user-deactivate"),
    path("admin/users/<int:user_id>/reactivate/", admin_views.user_reactivate, name="admin-user-reactivate"),
    path("admin/users/<int:user_id>/reset-mfa/", admin_views.user_reset_mfa, name="admin-user-reset-mfa"),
    path("admin/roles/", admin_views.role_list, name="admin-roles"),
    path("admin/roles/new/", admin_views.role_new, name="admin-role-new"),
    path("admin/roles/<slug:slug>/", admin_views.role_detail, name="admin-role"),
    path("admin/apps/", admin_views.app_list, name="admin-apps"),
    path("admin/apps/new/", admin_views.app_new, name="admin-app-new"),
    path("admin/apps/<int:app_id>/", admin_views.app_detail, name="admin-app"),
    path("admin/apps/<int:app_id>/revoke/", admin_views.app_revoke, name="admin-app-revoke"),
]
