from django import forms

LARGEST_FILE = 50 * 1024 * 1024


class UploadForm(forms.Form):
    file = forms.FileField(label="835 file", help_text="The electronic remittance advice (ERA) the payer sent.")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > LARGEST_FILE:
            raise forms.ValidationError("This file is larger than 50 MB; split it or ask the payer to.")
        return upload


class ResolveForm(forms.Form):
    resolution = forms.CharField(label="What was done", max_length=300,
                                 help_text="For example: resubmitted with modifier 25; appealed; matched to C000000123.")
