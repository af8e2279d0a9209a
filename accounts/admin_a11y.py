"""The admin's date-and-time fields, labelled for screen readers.

Django's split date/time widget is two inputs under one ``<label>`` that points at neither
(``MultiWidget.id_for_label`` is empty), so each input gets its own accessible name instead:
"Opted out at, date" and "Opted out at, time".
"""

from django import forms
from django.db import models


def label_split_datetime(formfield: forms.Field | None) -> forms.Field | None:
    if formfield is not None and isinstance(formfield.widget, forms.SplitDateTimeWidget):
        label = str(formfield.label)
        for widget, part in zip(formfield.widget.widgets, ("date", "time"), strict=True):
            widget.attrs["aria-label"] = f"{label}, {part}"
    return formfield


class LabelledDateTimesMixin:
    """For a ModelAdmin: every date-and-time field's two inputs have a name of their own."""

    def formfield_for_dbfield(self, db_field: models.Field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if isinstance(db_field, models.DateTimeField):
            label_split_datetime(formfield)
        return formfield
