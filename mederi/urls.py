from django.urls import include, path, re_path

from mederi.accounts import smart_views
from mederi.audit import fhir_views as audit_fhir
from mederi.scheduling import checkin_views

urlpatterns = [
    # The audit log as read-only AuditEvents, ahead of the record's generic routes.
    path("fhir/R4/AuditEvent", audit_fhir.audit_events, name="fhir-audit-events"),
    # Ids only: `AuditEvent/$validate` still reaches the record's operation.
    re_path(r"^fhir/R4/AuditEvent/(?P<entry_id>_search|[A-Za-z0-9\-.]{1,64})$", audit_fhir.audit_event,
            name="fhir-audit-event"),
    path("fhir/R4/.well-known/smart-configuration", smart_views.smart_configuration, name="smart-configuration"),
    path(".well-known/smart-configuration", smart_views.smart_configuration),
    path("oauth/", include("mederi.accounts.oauth_urls")),
    path("fhir/R4/", include("mederi.fhir.urls")),
    path("accounts/", include("mederi.accounts.urls")),
    path("audit/", include("mederi.audit.urls")),
    path("patients/", include("mederi.patients.urls")),
    path("schedule/reminders/", include("mederi.scheduling.reminders.urls")),
    path("schedule/checkin/<str:appointment_id>/", checkin_views.check_in, name="checkin"),
    path("schedule/checkin/<str:appointment_id>/copay", checkin_views.take_copay, name="checkin-copay"),
    path("schedule/checkin/<str:appointment_id>/done", checkin_views.complete, name="checkin-complete"),
    path("schedule/", include("mederi.scheduling.urls")),
    path("billing/", include("mederi.billing.urls")),
    path("interop/", include("mederi.interop.urls")),
    path("clinical/", include("mederi.clinical.prescribing.urls")),
    path("clinical/", include("mederi.clinical.urls")),
    path("cds-services", include("mederi.clinical.cds.urls")),
    path("p/", include("mederi.portal.urls")),
    path("reports/", include("mederi.reports.urls")),
    path("ai/agent/", include("mederi.ai.agent.urls")),
    path("ai/denial/", include("mederi.ai.denial.urls")),
    path("ai/scribe/", include("mederi.ai.scribe.urls")),
    path("ai/", include("mederi.ai.urls")),
    path("", include("mederi.web.urls")),
]
