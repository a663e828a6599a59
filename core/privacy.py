"""What may be shown of a person on a public page."""


def mask_name(name: str) -> str:
    """张** for 张三丰: the family name and a star per remaining character."""
    name = (name or "").strip()
    if not name:
        return "匿名"
    return name[0] + "*" * max(1, len(name) - 1)


def donor_display_name(name: str, show_name: bool) -> str:
    """Individual donors are masked unless they chose to be named."""
    return name if show_name else mask_name(name)
