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
    group = forms.CharField(required=False, max_length=64, label="Inside the group", widget=forms.Select,
                            help_text="A question inside a group takes the group's section.")
    text = forms.CharField(required=False, max_length=500, label="Question")
    type = forms.ChoiceField(choices=editor.ITEM_TYPES, label="Answer")
    required = forms.BooleanField(required=False)
    options = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=5000,
                              label="Answers to choose from (one per line)")
    position = forms.IntegerField(min_value=1, max_value=999, label="Order")
    remove = forms.BooleanField(required=False)

    def __init__(self, *args, groups=(), **kwargs):
        super().__init__(*args, **kwargs)
        # Any value reaches the service, which names a group it cannot find.
        self.fields["group"].widget.choices = [("", "None: directly in the section")] + list(groups)

    @property
    def ref(self) -> str:
        """How the other rows name this one before it has a link id: new-<its number in the form>."""
        return f"new-{self.prefix.rsplit('-', 1)[-1]}"

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
                          data["position"], data.get("link_id") or "", (data.get("group") or "").strip(), self.ref)


ItemFormSet = forms.formset_factory(ItemForm, extra=0)


def _initial_rows(template: catalogue.Template | None) -> list[dict]:
    """One row per question of the template, those inside a group naming it, then blank rows."""
    rows = []

    def walk(items, section: str, group: str):
        for item in items or ():
            rows.append({"link_id": item["linkId"], "section": section, "group": group, "text": item.get("text", ""),
                         "type": item.get("type"), "required": item.get("required") is True,
                         "options": "\n".join(editor._option_labels(item)) if item.get("type") == "choice" else "",
                         "position": len(rows) + 1})
            if item.get("type") == "group":
                walk(item.get("item"), section, item["linkId"])

    for section in (template.resource.get("item") or []) if template else []:
        walk(section.get("item"), section["linkId"], "")
    for _ in range(NEW_ROWS):
        rows.append({"section": "plan", "type": "string", "position": len(rows) + 1})
    return rows


def _group_choices(rows: list[dict]) -> list[tuple[str, str]]:
    """The groups a row can sit in: the group rows of the form, and each blank row once it is made a group."""
    choices = []
    for number, row in enumerate(rows):
        if row.get("link_id"):
            if row.get("type") == "group":
                choices.append((row["link_id"], row.get("text") or row["link_id"]))
        elif row.get("type") == "group" or not (row.get("text") or "").strip():
            text = (row.get("text") or "").strip()
            choices.append((f"new-{number}", f"New group in row {number + 1}" + (f": {text}" if text else "")))
    return choices


def _posted_rows(post) -> list[dict]:
    try:
        total = min(int(post.get("row-TOTAL_FORMS", 0)), 1000)
    except ValueError:
        total = 0
    return [{name: post.get(f"row-{n}-{name}", "") for name in ("link_id", "type", "text")} for n in range(total)]


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
        rows = ItemFormSet(request.POST, prefix="row", form_kwargs={"groups": _group_choices(_posted_rows(request.POST))})
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
        initial_rows = _initial_rows(template)
        rows = ItemFormSet(initial=initial_rows, prefix="row", form_kwargs={"groups": _group_choices(initial_rows)})
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
