"""The administrator's note-template pages: the list, and the editor that saves a new version."""

from __future__ import annotations

from django import forms
from django.shortcuts import redirect, render

from mederi.accounts.context import context_for_request
from mederi.accounts.decorators import staff_page
from mederi.clinical.notes import catalogue, editor
from mederi.core.errors import MederiError

NEW_ROWS = 3  # blank rows offered for new questions


class TemplateForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class ItemForm(forms.Form):
    link_id = forms.CharField(required=False, widget=forms.HiddenInput)
    section = forms.ChoiceField(choices=[(k, label) for k, label, _ in editor.SECTIONS])
    text = forms.CharField(required=False, max_length=500, label="Question")
    type = forms.ChoiceField(choices=editor.ITEM_TYPES, label="Answer")
    required = forms.BooleanField(required=False)
    options = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=5000,
                              label="Answers to choose from (one per line)")
    position = forms.IntegerField(min_value=1, max_value=999, label="Order")
    remove = forms.BooleanField(required=False)

    def clean(self):
        data = super().clean()
        if data.get("link_id") and not (data.get("text") or "").strip() and not data.get("remove"):
            self.add_error("text", "Write the question, or tick Remove to take it out.")
        return data

    def row(self) -> editor.Row | None:
        data = self.cleaned_data
        if data.get("remove") or not (data.get("text") or "").strip():
            return None  # removed, or a blank row left for adding
        options = [line.strip() for line in (data.get("options") or "").splitlines() if line.strip()]
        return editor.Row(data["section"], data["text"].strip(), data["type"], bool(data.get("required")), options,
                          data["position"], data.get("link_id") or "")


ItemFormSet = forms.formset_factory(ItemForm, extra=0)


def _initial_rows(template: catalogue.Template | None) -> list[dict]:
    rows = []
    for group in (template.resource.get("item") or []) if template else []:
        for item in group.get("item") or ():
            rows.append({"link_id": item["linkId"], "section": group["linkId"], "text": item.get("text", ""),
                         "type": item.get("type"), "required": item.get("required") is True,
                         "options": "\n".join(editor._option_labels(item)) if item.get("type") == "choice" else "",
                         "position": len(rows) + 1})
    for _ in range(NEW_ROWS):
        rows.append({"section": "plan", "type": "string", "position": len(rows) + 1})
    return rows


@staff_page("definitions.read", "clinical.read")
def template_list(request):
    context = context_for_request(request)
    return render(request, "clinical/notes/templates.html", {
        "templates": catalogue.latest_templates(context),
        "can_edit": "definitions.write" in context.permissions})


@staff_page("definitions.write")
def template_edit(request, template_id=None):
    context = context_for_request(request)
    template = catalogue.by_id(context, template_id) if template_id else None
    if request.method == "POST":
        form = TemplateForm(request.POST)
        rows = ItemFormSet(request.POST, prefix="row")
        if form.is_valid() and rows.is_valid():
            kept = [row for row in (f.row() for f in rows.forms) if row is not None]
            try:
                saved = editor.save_template(context, form.cleaned_data["title"], form.cleaned_data["description"],
                                             kept, template_id=template_id)
                return redirect(f"{_list_url()}?saved={saved.id}")
            except MederiError as problem:
                _place_errors(problem, form, rows, kept)
        status = 400
    else:
        initial = {"title": template.title, "description": template.description} if template else {}
        form = TemplateForm(initial=initial)
        rows = ItemFormSet(initial=_initial_rows(template), prefix="row")
        status = 200
    return render(request, "clinical/notes/template_edit.html",
                  {"form": form, "rows": rows, "template": template}, status=status)


def _list_url() -> str:
    from django.urls import reverse

    return reverse("clinical:templates")


def _place_errors(problem: MederiError, form, rows, kept) -> None:
    """Each problem of the service at the field it names (row-N counts only the rows kept)."""
    kept_forms = [f for f in rows.forms if f.row() is not None]
    for issue in problem.issues:
        where = issue.expression or ""
        if where == "title":
            form.add_error("title", issue.diagnostics)
        elif where.startswith("row-") and where.count("-") >= 2:
            _, number, name = where.split("-", 2)
            if number.isdigit() and int(number) < len(kept_forms):
                kept_forms[int(number)].add_error(name, issue.diagnostics)
                continue
            form.add_error(None, issue.diagnostics)
        else:
            form.add_error(None, issue.diagnostics)
