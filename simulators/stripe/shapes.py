"""Builders for complete Stripe API objects, with the same keys and nesting Stripe returns."""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]


def _address() -> JSON:
    return {
        "city": None,
        "country": None,
        "line1": None,
        "line2": None,
        "postal_code": None,
        "state": None,
    }


def _list(url: str, data: list[JSON] | None = None) -> JSON:
    return {"object": "list", "data": data or [], "has_more": False, "url": url}


def empty_list(url: str) -> JSON:
    """An embedded list object (e.g. ``charge.refunds``)."""
    return _list(url)


# -- catalogue ------------------------------------------------------------------------------


def product(id: str, created: int, name: str, description: str | None = None) -> JSON:
    return {
        "active": True,
        "created": created,
        "default_price": None,
        "description": description,
        "id": id,
        "images": [],
        "livemode": False,
        "marketing_features": [],
        "metadata": {},
        "name": name,
        "object": "product",
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": None,
        "unit_label": None,
        "updated": created,
        "url": None,
        "type": "service",
    }


def recurring(interval: str, interval_count: int = 1) -> JSON:
    return {
        "interval": interval,
        "interval_count": interval_count,
        "meter": None,
        "usage_type": "licensed",
        "trial_period_days": None,
    }


def price(
    id: str,
    created: int,
    currency: str,
    unit_amount: int,
    product_id: str,
    recurring_: JSON | None = None,
) -> JSON:
    return {
        "active": True,
        "billing_scheme": "per_unit",
        "created": created,
        "currency": currency,
        "custom_unit_amount": None,
        "id": id,
        "livemode": False,
        "lookup_key": None,
        "metadata": {},
        "nickname": None,
        "object": "price",
        "product": product_id,
        "recurring": recurring_,
        "tax_behavior": "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring" if recurring_ else "one_time",
        "unit_amount": unit_amount,
        "unit_amount_decimal": str(unit_amount),
    }


def plan_from_price(price_: JSON) -> JSON:
    """The legacy ``plan`` mirror Stripe still embeds in subscription items."""
    rec = price_["recurring"] or {}
    return {
        "active": price_["active"],
        "amount": price_["unit_amount"],
        "amount_decimal": price_["unit_amount_decimal"],
        "billing_scheme": "per_unit",
        "created": price_["created"],
        "currency": price_["currency"],
        "id": price_["id"],
        "interval": rec.get("interval"),
        "interval_count": rec.get("interval_count", 1),
        "livemode": False,
        "metadata": {},
        "meter": None,
        "nickname": None,
        "object": "plan",
        "product": price_["product"],
        "tiers_mode": None,
        "transform_usage": None,
        "trial_period_days": None,
        "usage_type": "licensed",
    }


def checkout_line_item(id: str, price_: JSON, quantity: int, description: str) -> JSON:
    amount = price_["unit_amount"] * quantity
    return {
        "amount_discount": 0,
        "amount_subtotal": amount,
        "amount_tax": 0,
        "amount_total": amount,
        "currency": price_["currency"],
        "description": description,
        "id": id,
        "object": "item",
        "price": price_,
        "quantity": quantity,
        "metadata": {},
        "adjustable_quantity": None,
    }


# -- customers and payment methods ----------------------------------------------------------


def customer(
    id: str, created: int, email: str | None, name: str | None, invoice_prefix: str
) -> JSON:
    return {
        "address": None,
        "balance": 0,
        "created": created,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": email,
        "id": id,
        "invoice_prefix": invoice_prefix,
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": {},
        "name": name,
        "next_invoice_sequence": 1,
        "object": "customer",
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def billing_details(email: str | None, name: str | None) -> JSON:
    return {"address": _address(), "email": email, "name": name, "phone": None, "tax_id": None}


def payment_method(
    id: str, created: int, card: JSON, email: str | None, name: str | None, customer_id: str | None
) -> JSON:
    """``card`` holds brand, last4, exp_month, exp_year, fingerprint, funding, country."""
    return {
        "allow_redisplay": "unspecified",
        "billing_details": billing_details(email, name),
        "card": {
            "brand": card["brand"],
            "checks": {
                "address_line1_check": None,
                "address_postal_code_check": None,
                "cvc_check": "pass",
            },
            "country": card["country"],
            "display_brand": card["brand"],
            "exp_month": card["exp_month"],
            "exp_year": card["exp_year"],
            "fingerprint": card["fingerprint"],
            "funding": card["funding"],
            "generated_from": None,
            "last4": card["last4"],
            "networks": {"available": [card["brand"]], "preferred": None},
            "three_d_secure_usage": {"supported": True},
            "wallet": None,
            "regulated_status": "unregulated",
        },
        "created": created,
        "customer": customer_id,
        "id": id,
        "livemode": False,
        "metadata": {},
        "object": "payment_method",
        "type": "card",
        "customer_account": None,
    }


def setup_intent(id: str, created: int, customer_id: str | None, metadata: JSON) -> JSON:
    return {
        "application": None,
        "automatic_payment_methods": None,
        "cancellation_reason": None,
        "client_secret": f"{id}_secret_{id[5:]}",
        "created": created,
        "customer": customer_id,
        "description": None,
        "flow_directions": None,
        "id": id,
        "last_setup_error": None,
        "latest_attempt": None,
        "livemode": False,
        "mandate": None,
        "metadata": metadata,
        "next_action": None,
        "object": "setup_intent",
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        "payment_method_types": ["card"],
        "single_use_mandate": None,
        "status": "requires_payment_method",
        "usage": "off_session",
        "excluded_payment_method_types": None,
    }


# -- payments -------------------------------------------------------------------------------


def payment_intent(
    id: str,
    created: int,
    amount: int,
    currency: str,
    customer_id: str | None,
    metadata: JSON,
    description: str | None = None,
    receipt_email: str | None = None,
) -> JSON:
    return {
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic",
        "client_secret": f"{id}_secret_{id[3:]}",
        "confirmation_method": "automatic",
        "created": created,
        "currency": currency,
        "customer": customer_id,
        "description": description,
        "id": id,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": metadata,
        "next_action": None,
        "object": "payment_intent",
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {
                "installments": None,
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        "payment_method_types": ["card"],
        "processing": None,
        "receipt_email": receipt_email,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "requires_payment_method",
        "transfer_data": None,
        "transfer_group": None,
        "source": None,
        "excluded_payment_method_types": None,
        "customer_account": None,
        "managed_payments": None,
    }


def card_error(
    code: str, decline_code: str | None, message: str, charge_id: str | None, pm: JSON | None
) -> JSON:
    """The ``last_payment_error`` Stripe stores on a payment intent after a decline."""
    return {
        "charge": charge_id,
        "code": code,
        "decline_code": decline_code,
        "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}",
        "message": message,
        "payment_method": pm,
        "type": "card_error",
    }


def outcome(decline_code: str | None) -> JSON:
    if decline_code is None:
        return {
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "approved_by_network",
            "reason": None,
            "seller_message": "Payment complete.",
            "type": "authorized",
        }
    return {
        "advice_code": "try_again_later" if decline_code == "insufficient_funds" else None,
        "network_advice_code": None,
        "network_decline_code": None,
        "network_status": "declined_by_network",
        "reason": decline_code,
        "seller_message": "The bank did not return any further details with this decline.",
        "type": "issuer_declined",
    }


def charge_card_details(pm: JSON, amount: int) -> JSON:
    card = pm["card"]
    return {
        "card": {
            "amount_authorized": amount,
            "brand": card["brand"],
            "checks": dict(card["checks"]),
            "country": card["country"],
            "exp_month": card["exp_month"],
            "exp_year": card["exp_year"],
            "extended_authorization": {"status": "disabled"},
            "fingerprint": card["fingerprint"],
            "funding": card["funding"],
            "incremental_authorization": {"status": "unavailable"},
            "installments": None,
            "last4": card["last4"],
            "mandate": None,
            "multicapture": {"status": "unavailable"},
            "network": card["brand"],
            "network_token": {"used": False},
            "overcapture": {"maximum_amount_capturable": amount, "status": "unavailable"},
            "three_d_secure": None,
            "wallet": None,
            "authorization_code": "123456",
            "regulated_status": "unregulated",
            "network_transaction_id": "1234567890123456",
            "transaction_link_id": None,
        },
        "type": "card",
    }


def charge(
    id: str,
    created: int,
    pi: JSON,
    pm: JSON,
    receipt_url: str,
    decline: tuple[str, str] | None = None,
) -> JSON:
    """A charge for ``pi`` paid with ``pm``; ``decline`` is (decline_code, message)."""
    paid = decline is None
    amount = pi["amount"]
    return {
        "amount": amount,
        "amount_captured": amount if paid else 0,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": None,
        "billing_details": dict(pm["billing_details"], address=_address()),
        "calculated_statement_descriptor": "FUNDRAISER",
        "captured": paid,
        "created": created,
        "currency": pi["currency"],
        "customer": pi["customer"],
        "description": pi["description"],
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None if paid else "card_declined",
        "failure_message": None if paid else decline[1],
        "fraud_details": {},
        "id": id,
        "livemode": False,
        "metadata": dict(pi["metadata"]),
        "object": "charge",
        "on_behalf_of": None,
        "outcome": outcome(None if paid else decline[0]),
        "paid": paid,
        "payment_intent": pi["id"],
        "payment_method": pm["id"],
        "payment_method_details": charge_card_details(pm, amount),
        "receipt_email": pi["receipt_email"],
        "receipt_number": None,
        "receipt_url": receipt_url,
        "refunded": False,
        "refunds": _list(f"/v1/charges/{id}/refunds"),
        "review": None,
        "shipping": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "succeeded" if paid else "failed",
        "transfer_data": None,
        "transfer_group": None,
        "source": None,
    }


def balance_transaction(
    id: str,
    created: int,
    amount: int,
    currency: str,
    fee: int,
    source: str,
    kind: str,
    description: str | None,
) -> JSON:
    """``kind`` is the balance transaction type: charge, refund or adjustment."""
    category = {"charge": "charge", "refund": "refund", "adjustment": "dispute"}[kind]
    fee_details = []
    if fee:
        fee_details.append(
            {
                "amount": fee,
                "application": None,
                "currency": currency,
                "description": "Dispute fee" if kind == "adjustment" else "Stripe processing fees",
                "type": "stripe_fee",
            }
        )
    return {
        "amount": amount,
        "available_on": created + 2 * 86400,
        "created": created,
        "currency": currency,
        "description": description,
        "exchange_rate": None,
        "fee": fee,
        "fee_details": fee_details,
        "id": id,
        "net": amount - fee,
        "object": "balance_transaction",
        "reporting_category": category,
        "source": source,
        "status": "pending",
        "type": kind,
        "balance_type": "payments",
    }


def refund(
    id: str, created: int, charge_: JSON, amount: int, reason: str | None, metadata: JSON
) -> JSON:
    return {
        "amount": amount,
        "balance_transaction": None,
        "charge": charge_["id"],
        "created": created,
        "currency": charge_["currency"],
        "destination_details": {"card": {"type": "refund"}, "type": "card"},
        "id": id,
        "metadata": metadata,
        "object": "refund",
        "payment_intent": charge_["payment_intent"],
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
        "customer": charge_["customer"],
        "customer_account": None,
        "payment_method": charge_["payment_method"],
    }


def _evidence() -> JSON:
    keys = [
        "access_activity_log",
        "billing_address",
        "cancellation_policy",
        "cancellation_policy_disclosure",
        "cancellation_rebuttal",
        "customer_communication",
        "customer_email_address",
        "customer_name",
        "customer_purchase_ip",
        "customer_signature",
        "duplicate_charge_documentation",
        "duplicate_charge_explanation",
        "duplicate_charge_id",
        "product_description",
        "receipt",
        "refund_policy",
        "refund_policy_disclosure",
        "refund_refusal_explanation",
        "service_date",
        "service_documentation",
        "shipping_address",
        "shipping_carrier",
        "shipping_date",
        "shipping_documentation",
        "shipping_tracking_number",
        "uncategorized_file",
        "uncategorized_text",
    ]
    evidence: JSON = dict.fromkeys(keys)
    evidence["enhanced_evidence"] = {}
    return evidence


def dispute(id: str, created: int, charge_: JSON, amount: int, reason: str) -> JSON:
    card = charge_["payment_method_details"]["card"]
    return {
        "amount": amount,
        "balance_transactions": [],
        "charge": charge_["id"],
        "created": created,
        "currency": charge_["currency"],
        "evidence": _evidence(),
        "evidence_details": {
            "due_by": created + 7 * 86400,
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
            "enhanced_eligibility": {},
        },
        "id": id,
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "object": "dispute",
        "payment_intent": charge_["payment_intent"],
        "payment_method_details": {
            "card": {
                "brand": card["brand"],
                "case_type": "chargeback",
                "network_reason_code": "10.4",
                "network": card["network"],
            },
            "type": "card",
        },
        "reason": reason,
        "status": "needs_response",
        "enhanced_eligibility_types": [],
    }


# -- checkout and portal --------------------------------------------------------------------


def customer_details(email: str | None, name: str | None) -> JSON:
    return {
        "address": _address(),
        "email": email,
        "name": name,
        "phone": None,
        "tax_exempt": "none",
        "tax_ids": [],
        "business_name": None,
        "individual_name": None,
    }


def checkout_session(id: str, created: int, mode: str, url: str, fields: JSON) -> JSON:
    """``fields`` supplies the request-derived values (amounts, urls, metadata, ...)."""
    session = {
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": None,
        "amount_total": None,
        "automatic_tax": {"enabled": False, "liability": None, "status": None, "provider": None},
        "billing_address_collection": None,
        "cancel_url": None,
        "client_reference_id": None,
        "client_secret": None,
        "consent": None,
        "consent_collection": None,
        "created": created,
        "currency": None,
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer": None,
        "customer_creation": None,
        "customer_details": None,
        "customer_email": None,
        "expires_at": created + 86400,
        "id": id,
        "invoice": None,
        "invoice_creation": None,
        "livemode": False,
        "locale": None,
        "metadata": {},
        "mode": mode,
        "object": "checkout.session",
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": "always" if mode != "payment" else None,
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": ["card"],
        "payment_status": "no_payment_required" if mode == "setup" else "unpaid",
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "saved_payment_method_options": None,
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "open",
        "submit_type": None,
        "subscription": None,
        "success_url": None,
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted",
        "url": url,
        "adaptive_pricing": {"enabled": False},
        "discounts": [],
        "collected_information": None,
        "permissions": None,
        "wallet_options": None,
        "origin_context": None,
        "currency_conversion": None,
        "customer_account": None,
        "integration_identifier": None,
        "managed_payments": None,
    }
    if mode == "payment":
        session["invoice_creation"] = {
            "enabled": False,
            "invoice_data": {
                "account_tax_ids": None,
                "custom_fields": None,
                "description": None,
                "footer": None,
                "issuer": None,
                "metadata": {},
                "rendering_options": None,
            },
        }
    unknown = set(fields) - set(session)
    if unknown:
        raise KeyError(f"not checkout.session fields: {sorted(unknown)}")
    session.update(fields)
    return session


def collected_information() -> JSON:
    return {"shipping_details": None, "business_name": None, "individual_name": None}


def portal_session(
    id: str, created: int, customer_id: str, return_url: str | None, url: str, flow: JSON | None
) -> JSON:
    return {
        "configuration": "bpc_simulatordefaultconfig",
        "created": created,
        "customer": customer_id,
        "flow": flow,
        "id": id,
        "livemode": False,
        "locale": None,
        "object": "billing_portal.session",
        "on_behalf_of": None,
        "return_url": return_url,
        "url": url,
        "customer_account": None,
    }


# -- billing --------------------------------------------------------------------------------


def subscription_item(
    id: str, created: int, price_: JSON, subscription_id: str, start: int, end: int
) -> JSON:
    return {
        "created": created,
        "discounts": [],
        "id": id,
        "metadata": {},
        "object": "subscription_item",
        "price": price_,
        "quantity": 1,
        "subscription": subscription_id,
        "tax_rates": [],
        "plan": plan_from_price(price_),
        "current_period_end": end,
        "current_period_start": start,
        "billing_thresholds": None,
    }


def subscription(
    id: str,
    created: int,
    customer_id: str,
    item: JSON,
    metadata: JSON,
    description: str | None,
    default_payment_method: str | None,
) -> JSON:
    return {
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"enabled": False, "liability": None, "disabled_reason": None},
        "billing_cycle_anchor": item["current_period_start"],
        "billing_cycle_anchor_config": None,
        "cancel_at": None,
        "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically",
        "created": created,
        "currency": item["price"]["currency"],
        "customer": customer_id,
        "days_until_due": None,
        "default_payment_method": default_payment_method,
        "default_source": None,
        "default_tax_rates": [],
        "description": description,
        "discounts": [],
        "ended_at": None,
        "id": id,
        "invoice_settings": {
            "account_tax_ids": None,
            "issuer": {"type": "self"},
            "custom_fields": None,
            "description": None,
            "footer": None,
        },
        "items": _list(f"/v1/subscription_items?subscription={id}", [item]),
        "latest_invoice": None,
        "livemode": False,
        "metadata": metadata,
        "next_pending_invoice_item_invoice": None,
        "object": "subscription",
        "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": "off",
        },
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "schedule": None,
        "start_date": created,
        "status": "active",
        "test_clock": None,
        "transfer_data": None,
        "trial_end": None,
        "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": None,
        "cancel_at_period_end": False,
        "billing_thresholds": None,
        "billing_mode": {"type": "classic", "flexible": None},
        "customer_account": None,
        "managed_payments": None,
        "billing_schedules": [],
    }


def invoice_line(
    id: str, invoice_id: str, sub: JSON, item: JSON, start: int, end: int, description: str
) -> JSON:
    price_ = item["price"]
    return {
        "amount": price_["unit_amount"],
        "currency": price_["currency"],
        "description": description,
        "discount_amounts": [],
        "discountable": True,
        "discounts": [],
        "id": id,
        "invoice": invoice_id,
        "livemode": False,
        "metadata": dict(sub["metadata"]),
        "object": "line_item",
        "period": {"end": end, "start": start},
        "quantity": 1,
        "subscription": sub["id"],
        "pretax_credit_amounts": [],
        "taxes": [],
        "parent": {
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None,
                "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": sub["id"],
                "subscription_item": item["id"],
            },
            "type": "subscription_item_details",
        },
        "pricing": {
            "price_details": {"price": price_["id"], "product": price_["product"]},
            "type": "price_details",
            "unit_amount_decimal": price_["unit_amount_decimal"],
        },
        "subtotal": price_["unit_amount"],
        "quantity_decimal": "1",
    }


def invoice(
    id: str,
    created: int,
    customer_: JSON,
    sub: JSON,
    line: JSON,
    billing_reason: str,
    number: str,
    base_url: str,
) -> JSON:
    """A draft subscription invoice with one line."""
    amount = line["amount"]
    return {
        "account_country": "US",
        "account_name": "Fundraiser (Stripe simulator)",
        "account_tax_ids": None,
        "amount_due": amount,
        "amount_paid": 0,
        "amount_remaining": amount,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": 0,
        "attempted": False,
        "auto_advance": True,
        "automatic_tax": {
            "enabled": False,
            "liability": None,
            "status": None,
            "disabled_reason": None,
            "provider": None,
        },
        "billing_reason": billing_reason,
        "collection_method": "charge_automatically",
        "created": created,
        "currency": line["currency"],
        "custom_fields": None,
        "customer": customer_["id"],
        "customer_address": None,
        "customer_email": customer_["email"],
        "customer_name": customer_["name"],
        "customer_phone": None,
        "customer_shipping": None,
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "due_date": None,
        "effective_at": None,
        "ending_balance": None,
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": f"{base_url}/i/{id}",
        "id": id,
        "invoice_pdf": f"{base_url}/i/{id}/pdf",
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": _list(f"/v1/invoices/{id}/lines", [line]),
        "livemode": False,
        "metadata": {},
        "next_payment_attempt": None,
        "number": number,
        "object": "invoice",
        "on_behalf_of": None,
        "payment_settings": {
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        "period_end": line["period"]["start"],
        "period_start": line["period"]["start"],
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": 0,
        "statement_descriptor": None,
        "status": "draft",
        "status_transitions": {
            "finalized_at": None,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        # Present in the current fixture but always null: the subscription lives in `parent`.
        "subscription": None,
        "subtotal": amount,
        "subtotal_excluding_tax": amount,
        "test_clock": None,
        "total": amount,
        "total_discount_amounts": [],
        "total_excluding_tax": amount,
        "webhooks_delivered_at": None,
        "automatically_finalizes_at": None,
        "total_pretax_credit_amounts": [],
        "total_taxes": [],
        "amount_overpaid": 0,
        "parent": {
            "quote_details": None,
            "subscription_details": {"metadata": dict(sub["metadata"]), "subscription": sub["id"]},
            "type": "subscription_details",
        },
        "customer_account": None,
    }


def invoice_payment(id: str, created: int, inv: JSON, pi_id: str) -> JSON:
    return {
        "amount_paid": None,
        "amount_requested": inv["amount_due"],
        "created": created,
        "currency": inv["currency"],
        "id": id,
        "invoice": inv["id"],
        "is_default": True,
        "livemode": False,
        "object": "invoice_payment",
        "payment": {"payment_intent": pi_id, "type": "payment_intent"},
        "status": "open",
        "status_transitions": {"canceled_at": None, "paid_at": None},
    }


# -- events ---------------------------------------------------------------------------------


def event(
    id: str,
    created: int,
    type_: str,
    obj: JSON,
    api_version: str,
    previous_attributes: JSON | None,
    request: JSON,
    pending_webhooks: int,
) -> JSON:
    data: JSON = {"object": obj}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    return {
        "api_version": api_version,
        "created": created,
        "data": data,
        "id": id,
        "livemode": False,
        "object": "event",
        "pending_webhooks": pending_webhooks,
        "request": request,
        "type": type_,
    }


def sample_objects() -> list[JSON]:
    """One event of each common kind, with dummy values (a compression dictionary's input)."""
    t, card = 1700000000, {
        "brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2034,
        "fingerprint": "0123456789abcdef", "funding": "credit", "country": "US",
    }  # fmt: skip
    cus = customer("cus_Sample0000000", t, "reader@example.com", None, "ABCD1234")
    pm = payment_method("pm_" + "S" * 24, t, card, None, None, cus["id"])
    pi = payment_intent("pi_" + "S" * 24, t, 1000, "usd", cus["id"], {})
    ch = charge("ch_" + "S" * 24, t, pi, pm, "http://127.0.0.1/receipts/ch_")
    prod = product("prod_Sample000000", t, "Monthly support")
    pr = price("price_" + "S" * 24, t, "usd", 1000, prod["id"], recurring("month"))
    item = subscription_item("si_Sample000000", t, pr, "sub_" + "S" * 24, t, t + 2592000)
    sub = subscription("sub_" + "S" * 24, t, cus["id"], item, {}, None, pm["id"])
    line = invoice_line("il_" + "S" * 24, "in_" + "S" * 24, sub, item, t, t, "1 × Monthly")
    inv = invoice("in_" + "S" * 24, t, cus, sub, line, "subscription_cycle", "A-1", "http://x")
    request = {"id": None, "idempotency_key": None}
    objects = [cus, pm, pi, ch, sub, inv]
    return [event("evt_" + "S" * 24, t, "sample", obj, "v", None, request, 1) for obj in objects]
