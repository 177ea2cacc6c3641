from __future__ import annotations

from django import template

from rathauskasse.core.money import Money

register = template.Library()


@register.filter
def euro(cents: int | None) -> str:
    """Cents as the portal shows them: ``3070`` → ``30,70 €``."""
    return Money(int(cents or 0)).format_de()
