from django import forms

from mederi.billing.ledger.services import WRITE_OFF_REASONS


class RefundForm(forms.Form):
    amount = forms.CharField(label="Amount refunded", max_length=20, help_text="For example 25.00")
    method = forms.ChoiceField(label="Paid back by", choices=[("check", "Check"), ("card", "Card"), ("cash", "Cash"),
                                                              ("other", "Other")])
    note = forms.CharField(label="Note", max_length=300, required=False)


class WriteOffForm(forms.Form):
    amount = forms.CharField(label="Amount written off", max_length=20, help_text="For example 4.50")
    reason = forms.ChoiceField(label="Reason", choices=[("", "Choose a reason")] + list(WRITE_OFF_REASONS.items()))
    note = forms.CharField(label="Note", max_length=300, required=False, help_text="Needed when the reason is Other")
