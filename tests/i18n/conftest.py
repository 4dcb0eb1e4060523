"""Fixtures the language stories borrow from the account and payment stories."""

from tests.accounts.conftest import mailbox  # noqa: F401
from tests.payments.conftest import queued_app  # noqa: F401
