"""Pages and webhooks of reminders; thin: they read forms and call services and selectors.

- `GET appointment/<id>`: an appointment's reminders (an htmx partial; a page of its own without
  htmx), with "Send reminder now" (POST, scheduling.write);
- `rules/...`: list, create, change, turn off and on the reminder rules (scheduling.write);
- `outbox/`: what the in-process stand-in kept instead of sending, with "reply as the patient";
- `hooks/status` and `hooks/inbound`: the SMS/voice provider's delivery reports and patients'
  replies. No session or CSRF token: each request must carry the provider's signature
  (X-Twilio-Signature) made with MEDERI_SMS_AUTH_TOKEN, or it is refused (403) and changes nothing;
- `hooks/voice/audio/<token>` and `hooks/voice/<message>/answer`: a reminder call's spoken words
  (fetched by the provider; the signed token is the key) and the patient's recorded answer (signed).
"""

from __future__ import annotations

import logging
import uuid
from xml.sax.saxutils import escape

from django.contrib import messages
from django.http import HttpResponse, HttpResponseForbidden, HttpResponseNotFound
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from mederi.accounts.context import context_for_request
from mederi.accounts.decorators import staff_page
from mederi.audit import services as audit
from mederi.core.errors import MederiError
from mederi.scheduling.reminders import selectors, services, twilio_style, voice
from mederi.scheduling.reminders.channels import setting, uses_standin
from mederi.scheduling.reminders.forms import OutboxReplyForm, RuleForm, SendNowForm
from mederi.scheduling.reminders.models import SMS, VOICE, LocalOutboxMessage, ReminderMessage, ReminderRule
from mederi.scheduling.reminders.templating import DEFAULT_TEMPLATES

log = logging.getLogger(__name__)


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


# -- an appointment's reminders ------------------------------------------------------------------


def _render_appointment(request, appointment_id: str, form: SendNowForm | None = None, error: str = "",
                        status: int = 200):
    context = context_for_request(request)
    try:
        data = selectors.reminders_for_appointment(context, appointment_id)
    except MederiError as problem:
        return render(request, "reminders/_problem.html", {"problem": problem}, status=problem.status)
    can_write = "scheduling.write" in context.permissions
    first_possible = next((c.channel for c in data.channels if not c.reason), SMS)
    form = form or SendNowForm(initial={"channel": first_possible})
    template = "reminders/_appointment.html" if _is_htmx(request) else "reminders/appointment.html"
    return render(request, template, {"data": data, "form": form, "error": error, "can_write": can_write},
                  status=status)


@require_GET
@staff_page("scheduling.read")
def appointment_reminders(request, appointment_id: str):
    return _render_appointment(request, appointment_id)


@require_POST
@staff_page("scheduling.write")
def send_reminder_now(request, appointment_id: str):
    form = SendNowForm(request.POST)
    if not form.is_valid():
        return _render_appointment(request, appointment_id, form=form, status=200 if _is_htmx(request) else 400)
    try:
        services.send_now(context_for_request(request), appointment_id, form.cleaned_data["channel"])
    except MederiError as problem:
        form.add_error("channel", "; ".join(i.diagnostics for i in problem.issues))
        return _render_appointment(request, appointment_id, form=form,
                                   status=200 if _is_htmx(request) else problem.status)
    if _is_htmx(request):
        return _render_appointment(request, appointment_id)
    messages.info(request, "The reminder is on its way.")
    target = request.POST.get("next") or reverse("reminders:appointment", args=[appointment_id])
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("reminders:appointment", args=[appointment_id])
    return redirect(target)


# -- rules -----------------------------------------------------------------------------------------


@require_GET
@staff_page("scheduling.write")
def rule_list(request):
    return render(request, "reminders/rules.html", {"rules": selectors.rules()})


def _rule_form_page(request, rule: ReminderRule | None):
    if request.method == "POST":
        form = RuleForm(request.POST)
        if form.is_valid():
            try:
                saved = services.save_rule(context_for_request(request), rule.pk if rule else None,
                                           **form.service_fields())
            except MederiError as problem:
                for issue in problem.issues:
                    field = issue.expression if issue.expression in form.fields else None
                    form.add_error(field, issue.diagnostics)
            else:
                messages.info(request, f"Saved the rule “{saved.name}”; upcoming appointments are planned again.")
                return redirect("reminders:rules")
        status = 400
    else:
        status = 200
        if rule is None:
            form = RuleForm(initial={"channel": SMS, "offset_unit": "hours", "offset_amount": 2, "active": True,
                                     "template": DEFAULT_TEMPLATES[SMS]})
        else:
            form = RuleForm(initial={f: getattr(rule, f) for f in RuleForm.base_fields})
    return render(request, "reminders/rule_form.html",
                  {"form": form, "rule": rule, "defaults": DEFAULT_TEMPLATES}, status=status)


@staff_page("scheduling.write")
def rule_new(request):
    if request.method not in ("GET", "POST"):
        return HttpResponse(status=405)
    return _rule_form_page(request, None)


@staff_page("scheduling.write")
def rule_edit(request, rule_id: int):
    if request.method not in ("GET", "POST"):
        return HttpResponse(status=405)
    return _rule_form_page(request, get_object_or_404(ReminderRule, pk=rule_id))


@require_POST
@staff_page("scheduling.write")
def rule_active(request, rule_id: int):
    active = request.POST.get("active") == "1"
    try:
        rule = services.set_rule_active(context_for_request(request), rule_id, active)
    except MederiError as problem:
        messages.error(request, str(problem))
    else:
        messages.info(request, f"“{rule.name}” is {'on' if active else 'off'}"
                               f"{'' if active else '; its pending reminders were cancelled'}.")
    return redirect("reminders:rules")


# -- the in-process stand-in's outbox --------------------------------------------------------------


@staff_page("scheduling.write")
def outbox(request):
    context = context_for_request(request)
    reply_form = OutboxReplyForm()
    answered = None
    if request.method == "POST":
        kept = get_object_or_404(LocalOutboxMessage, pk=request.POST.get("message"), channel__in=(SMS, VOICE),
                                 direction=LocalOutboxMessage.OUT)
        reply_form = OutboxReplyForm(request.POST)
        if reply_form.is_valid() and kept.channel == VOICE:
            try:
                heard, answered = _answer_call_as_patient(kept, reply_form.cleaned_data["body"])
            except voice.VoiceUnavailable as problem:
                reply_form.add_error("body", f"The answer was not understood, and nothing changed: {problem}")
            else:
                messages.info(request, f"Said “{reply_form.cleaned_data['body']}” on the call to {kept.to}; "
                                       f"heard “{heard}”: {answered.outcome}.")
                return redirect("reminders:outbox")
        elif reply_form.is_valid():
            answered = _reply_as_patient(kept, reply_form.cleaned_data["body"])
            messages.info(request, f"Replied “{reply_form.cleaned_data['body']}” as {kept.to}: "
                                   f"{answered.outcome}.")
            return redirect("reminders:outbox")
    rows = selectors.outbox()
    audit.record(context, "search", resource_type="Communication", query="ui: local outbox of reminders",
                 resource_ids=[])
    return render(request, "reminders/outbox.html",
                  {"rows": rows, "reply_form": reply_form, "active": uses_standin(SMS)},
                  status=400 if request.method == "POST" else 200)


def _reply_as_patient(kept: LocalOutboxMessage, body: str) -> services.ReplyOutcome:
    LocalOutboxMessage.objects.create(channel=SMS, direction=LocalOutboxMessage.IN, to=kept.sender, sender=kept.to,
                                      body=body, provider_message_id=f"LOCALIN{uuid.uuid4().hex}")
    outcome = services.receive_reply(kept.to, body)
    if outcome.answer:
        LocalOutboxMessage.objects.create(channel=SMS, direction=LocalOutboxMessage.OUT, to=kept.to,
                                          sender=kept.sender, body=outcome.answer,
                                          provider_message_id=f"LOCAL{uuid.uuid4().hex}")
    return outcome


def _answer_call_as_patient(kept: LocalOutboxMessage, words: str) -> tuple[str, services.ReplyOutcome]:
    """The stand-in's call answered: the words are spoken by espeak-ng and heard by the offline transcriber,
    as a real call's recorded answer would be; what the practice says back is kept as the call goes on."""
    called = (ReminderMessage.objects.filter(channel=VOICE, recipient=kept.to,
                                             status__in=(ReminderMessage.SENT, ReminderMessage.DELIVERED))
              .order_by("-sent_at", "-id").first())
    if called is None:
        raise voice.VoiceUnavailable("no reminder call was made to this number")
    heard, outcome = voice.answer_in_words(called, words)
    LocalOutboxMessage.objects.create(channel=VOICE, direction=LocalOutboxMessage.IN, to=kept.sender, sender=kept.to,
                                      body=heard, provider_message_id=f"LOCALIN{uuid.uuid4().hex}")
    if outcome.answer:
        LocalOutboxMessage.objects.create(channel=VOICE, direction=LocalOutboxMessage.OUT, to=kept.to,
                                          sender=kept.sender, body=voice.spoken(outcome.answer),
                                          provider_message_id=f"LOCAL{uuid.uuid4().hex}")
    return heard, outcome


# -- provider webhooks -----------------------------------------------------------------------------


def _signed(request) -> bool:
    """The request carries the provider's signature over the URL it called and the form it sent."""
    token = setting("MEDERI_SMS_AUTH_TOKEN", "")
    base = setting("MEDERI_REMINDER_WEBHOOK_BASE", "")
    url = base.rstrip("/") + request.get_full_path() if base else request.build_absolute_uri()
    params = [(name, value) for name in request.POST for value in request.POST.getlist(name)]
    return twilio_style.signature_matches(url, params, token, request.headers.get("X-Twilio-Signature"))


def _refused(request) -> HttpResponse:
    log.warning("reminders: refused a webhook call to %s without a valid signature", request.path)
    reason = ("webhooks are off: MEDERI_SMS_AUTH_TOKEN is not set" if not setting("MEDERI_SMS_AUTH_TOKEN", "")
              else "the X-Twilio-Signature header does not match this request")
    return HttpResponseForbidden(reason, content_type="text/plain")


@csrf_exempt
@require_POST
def status_callback(request):
    if not _signed(request):
        return _refused(request)
    provider_id = request.POST.get("MessageSid") or request.POST.get("CallSid") or ""
    status = request.POST.get("MessageStatus") or request.POST.get("CallStatus") or ""
    services.record_delivery_status(provider_id, status, request.POST.get("ErrorCode", ""))
    return HttpResponse(status=204)


@csrf_exempt
@require_POST
def inbound_sms(request):
    if not _signed(request):
        return _refused(request)
    outcome = services.receive_reply(request.POST.get("From", ""), request.POST.get("Body", ""),
                                     request.POST.get("MessageSid", ""))
    answer = f"<Message>{escape(outcome.answer)}</Message>" if outcome.answer else ""
    return HttpResponse(f'<?xml version="1.0" encoding="UTF-8"?><Response>{answer}</Response>',
                        content_type="text/xml")


@require_GET
def voice_audio(request, token: str):
    text = voice.text_of(token)
    if text is None:
        return HttpResponseNotFound("no such audio: the address is wrong or has expired", content_type="text/plain")
    try:
        audio = voice.speak(text)
    except voice.VoiceUnavailable as problem:
        log.error("reminders: a call's audio could not be made: %s", problem)
        return HttpResponse(str(problem), status=503, content_type="text/plain")
    return HttpResponse(audio, content_type="audio/wav")


@csrf_exempt
@require_POST
def voice_answer(request, message_id: int):
    if not _signed(request):
        return _refused(request)
    try:
        turn = max(1, int(request.GET.get("turn", "1")))
    except ValueError:
        turn = 1
    twiml = voice.answer_call(message_id, request.POST.get("RecordingUrl", ""), request.POST.get("CallSid", ""), turn)
    return HttpResponse(f'<?xml version="1.0" encoding="UTF-8"?>{twiml}', content_type="text/xml")
