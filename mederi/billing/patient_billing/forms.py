from django import forms


class RunForm(forms.Form):
    minimum = forms.CharField(label="Send to every patient owing at least", max_length=20, initial="5.00",
                              help_text="For example 5.00: smaller balances wait for the next run")


class CardPaymentForm(forms.Form):
    """The card's number, expiry and security code are not fields: the page's script sends them from the
    browser to the gateway and posts only the gateway's token (`token`)."""

    amount = forms.CharField(label="Amount", max_length=20, help_text="For example 25.00")
    card = forms.ChoiceField(label="Card", required=False)
    token = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)
    holder = forms.CharField(label="Name on the card", max_length=100, required=False,
                             widget=forms.TextInput(attrs={"autocomplete": "cc-name"}))
    keep = forms.BooleanField(label="Keep this card on file (for a payment plan)", required=False)

    def __init__(self, *args, cards=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["card"].choices = [("", "A new card (type it below)")] + [(str(c.pk), str(c)) for c in cards]

    def forget_token(self) -> None:
        """A form shown again asks for the card again: a token that was declined or refused is not reused."""
        self.data = self.data.copy()
        self.data[self.add_prefix("token")] = ""


class PlanForm(forms.Form):
    amount = forms.CharField(label="Amount of the balance to spread", max_length=20)
    months = forms.ChoiceField(label="Monthly instalments", choices=[(str(n), str(n)) for n in range(2, 25)],
                               initial="3")
    first_due = forms.DateField(label="First instalment on", widget=forms.DateInput(attrs={"type": "date"}),
                                error_messages={"invalid": "Write the date as YYYY-MM-DD."})
    card = forms.ChoiceField(label="Card on file")

    def __init__(self, *args, cards=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["card"].choices = [("", "Choose a card")] + [(str(c.pk), str(c)) for c in cards]


class RefundForm(forms.Form):
    amount = forms.CharField(label="Refund to the card", max_length=20)
    note = forms.CharField(label="Why", max_length=200, required=False)


class CancelForm(forms.Form):
    reason = forms.CharField(label="Why cancel the plan", max_length=200)
