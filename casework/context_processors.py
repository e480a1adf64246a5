def membership(request):
    """The signed-in user's membership and capabilities, for menus and buttons."""
    user = getattr(request, "user", None)
    member = getattr(user, "membership", None) if user and user.is_authenticated else None
    caps = member.capabilities if member and user.is_active else frozenset()
    return {"membership": member, "caps": {c.value: True for c in caps}}
