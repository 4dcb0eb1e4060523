"""Signals sent after a payment change is committed, so other features (mail, caches) can react.

Receivers get the app as sender and keyword arguments; they run after the commit, so a
failing receiver can never undo or double a money movement.
"""

from blinker import Namespace

_signals = Namespace()

#: kwargs: entry_id (LedgerEntry.id of a new payment row)
payment_recorded = _signals.signal("payment-recorded")
#: kwargs: entry_id (LedgerEntry.id of a new refund row)
refund_recorded = _signals.signal("refund-recorded")
#: kwargs: pledge_id, changes (dict of field -> (old, new)), actor (str)
pledge_changed = _signals.signal("pledge-changed")
#: kwargs: pledge_id, invoice_url (Stripe's hosted invoice page, may be None)
pledge_payment_failed = _signals.signal("pledge-payment-failed")
#: kwargs: pledge_id, reason
pledge_cancelled = _signals.signal("pledge-cancelled")
#: kwargs: payment_intent_id (a card declined at checkout or on renewal), donation_intent
#: (the public id of our DonationIntent when the payment intent's metadata names one, else None)
payment_declined = _signals.signal("payment-declined")
#: kwargs: entry_id (a payment row booked before Stripe's fee was known)
payment_fee_unknown = _signals.signal("payment-fee-unknown")
