"""Labels for the admin's tabular inlines, whose fields have only a column heading.

A column heading is not a label, so a screen reader reaching a field in row 3 hears nothing of
what it is; ``labelled`` renders the field with ``aria-label="<field label>, row <n>"``.
"""

from django import template
from django.forms import BoundField
from django.utils.safestring import SafeString

register = template.Library()


@register.filter
def labelled(field: BoundField, row: int) -> SafeString | str:
    """Render ``field`` (a bound form field) with an accessible name naming its row."""
    if not isinstance(field, BoundField):
        return field
    if field.is_hidden:
        return field.as_widget()
    return field.as_widget(attrs={"aria-label": f"{field.label}, row {row}"})
