"""The user model's type, for annotations in apps that may not import accounts (a layer above).

`get_user_model()` gives the class, but to mypy that is a value, not a type. django-stubs' plugin
resolves its `_User` alias (which exists only in the stubs) to AUTH_USER_MODEL; at run time the
names stand for the base classes every user model has. For queries use `get_user_model()`.
"""

from typing import TYPE_CHECKING

from django.contrib.auth.models import AnonymousUser

if TYPE_CHECKING:
    from django.contrib.auth.models import _User as User
else:
    from django.contrib.auth.base_user import AbstractBaseUser as User

# Whom a request is made by: a signed-in user or the anonymous one.
type AnyUser = User | AnonymousUser

__all__ = ["AnyUser", "User"]
