from django import forms


class RunForm(forms.Form):
    minimum = forms.CharField(label="Send to every patient owing at least", max_length=20, initial="5.00",
                              help_text="For example 5.00: smaller balances wait for the next run")


class CardPaymentForm(forms.Form):
    amount = forms.CharField(label="Amount", max_length=20, help_text="For example 25.00")
    card = forms.ChoiceField(label="Card", required=False)
    number = forms.CharField(label="Card number", max_length=30, required=False,
                             widget=forms.TextInput(attrs={"autocomplete": "cc-number", "inputmode": "numeric"}))
    expiry = forms.CharField(label="Expiry (MM/YY)", max_length=7, required=False,
                             widget=forms.TextInput(attrs={"autocomplete": "cc-exp"}))
    cvc = forms.CharField(label="Security code", max_length=4, required=False,
                          widget=forms.PasswordInput(attrs={"autocomplete": "cc-csc", "inputmode": "numeric"}))
    holder = forms.CharField(label="Name on the card", max_length=100, required=False)
    keep = forms.BooleanField(label="Keep this card on file (for a payment plan)", required=False)

    def __init__(self, *args, cards=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["card"].choices = [("", "A new card (type it below)")] + [(str(c.pk), str(c)) for c in cards]

    def forget_card_details(self) -> None:
        """A form shown again keeps its errors but never sends the card number or code back to the browser."""
        self.data = self.data.copy()
        for name in ("number", "cvc"):
            self.data[self.add_prefix(name)] = ""


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
