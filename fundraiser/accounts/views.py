"""Account pages: sign-up, sign-in, links by email, giving history, pledges and privacy."""

from __future__ import annotations

import json
import time

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from fundraiser.accounts import (
    giving,
    language,
    limits,
    link_mail,
    pledge_actions,
    privacy,
    services,
    sessions,
)
from fundraiser.accounts.forms import (
    AmountForm,
    CancelForm,
    ChangePasswordForm,
    ConfirmForm,
    DeleteAccountForm,
    EmailForm,
    IntervalForm,
    LoginForm,
    NewPasswordForm,
    PauseForm,
    ProfileForm,
    RegisterForm,
)
from fundraiser.accounts.pdf import statement_pdf
from fundraiser.accounts.pledge_actions import PledgeActionError
from fundraiser.accounts.services import AccountError, StaffIdentityError
from fundraiser.accounts.tokens import LinkError
from fundraiser.extensions import db, limiter
from fundraiser.i18n import current_language
from fundraiser.money import major_units_text
from fundraiser.security import is_safe_redirect

bp = Blueprint("accounts", __name__, url_prefix="/account")

SITE_NAME = "Socialist World"
CHECK_EMAIL_REASONS = {"register", "reset", "magic", "delete"}
#: Session key: this browser's proof that it chose the password of the account it registered.
REGISTRATION_PROOF = "registration_proof"


def register(app: Flask) -> None:
    """Hook the accounts feature into the app: its pages."""
    app.register_blueprint(bp)


@bp.context_processor
def _helpers():
    return {"local_date": giving.local_date, "site_name": SITE_NAME}


#: The largest id a row can have (PostgreSQL's integer); a bigger one in a URL names nothing.
LARGEST_ID = 2**31 - 1


@bp.url_value_preprocessor
def _refuse_impossible_ids(_endpoint, values) -> None:
    # SQLite cannot even bind an integer past 64 bits: say "not found" rather than crash.
    for name, value in (values or {}).items():
        if name.endswith("_id") and isinstance(value, int) and value > LARGEST_ID:
            abort(404)


@bp.after_request
def _private(response):
    # Account pages carry personal data: never store them in any cache.
    response.cache_control.no_store = True
    response.cache_control.private = True
    return response


def _start_session(supporter, via: str) -> None:
    """A brand-new session for this sign-in (no fixation); `via` is "password" or "link"."""
    sessions.end_current()  # a session replaced here must not live on in a copied cookie
    session.clear()
    login_user(supporter, fresh=True)
    session["signed_in_at"] = int(time.time())
    session["signed_in_via"] = via


def _end_session() -> None:
    logout_user()
    session.clear()


def _refuse_staff_identity() -> None:
    """403 with directions when the signed-in account is staff (see services)."""
    try:
        services.refuse_staff_identity(current_user)
    except StaffIdentityError as exc:
        abort(403, description=str(exc))


def _next_url(target: str | None) -> str:
    return target if is_safe_redirect(target) else url_for(".overview")


def _status(form) -> int:
    return 422 if form.is_submitted() else 200


def _link_problem(error: LinkError):
    db.session.rollback()
    return render_template("accounts/link_problem.html", message=str(error)), 400


# --- Sign-up, sign-in and links by email -------------------------------------------------


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(limits.PER_ADDRESS, methods=["POST"])
@limiter.limit(limits.MAIL_PER_EMAIL, key_func=limits.email_key, methods=["POST"])
def register_page():
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            proof = services.register(form.email.data, form.password.data)
        except AccountError as exc:
            form.password.errors.append(str(exc))
        else:
            db.session.commit()
            session[REGISTRATION_PROOF] = proof
            return redirect(url_for(".check_email", reason="register"))
    return render_template("accounts/register.html", form=form), _status(form)


@bp.get("/check-email/<reason>")
def check_email(reason: str):
    if reason not in CHECK_EMAIL_REASONS:
        abort(404)
    return render_template("accounts/check_email.html", reason=reason)


@bp.route("/verify/<token>", methods=["GET", "POST"])
def verify(token: str):
    """GET only shows a button, so mail scanners that open links confirm nothing."""
    try:
        services.check_verification_link(token)
    except LinkError as exc:
        return _link_problem(exc)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_template("accounts/verify.html", form=form)
    try:
        supporter = services.verify_email(token, session.get(REGISTRATION_PROOF))
    except LinkError as exc:
        return _link_problem(exc)
    db.session.commit()
    # Whoever holds the mailbox is now the account's owner: sign them in.
    _start_session(supporter, "link")
    if supporter.password_hash is None:
        flash(
            _(
                "Thank you, your email address is confirmed. Choose a password below, "
                "or keep signing in with links we email you."
            )
        )
        return redirect(url_for(".settings"))
    flash(_("Thank you, your email address is confirmed."))
    return redirect(url_for(".overview"))


@bp.post("/verify/resend")
@login_required
@limiter.limit("3 per 15 minutes", key_func=lambda: f"supporter:{current_user.get_id()}")
def resend_verification():
    services.resend_verification(current_user)
    db.session.commit()
    flash(_("We've sent you a new confirmation link."))
    return redirect(url_for(".overview"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(limits.PER_ADDRESS, methods=["POST"])
def login():
    form = LoginForm(next=request.args.get("next", ""))
    error = None
    if form.validate_on_submit():
        if limits.password_sign_in_paused(form.email.data):
            return _password_sign_in_paused(form)
        try:
            supporter = services.authenticate(form.email.data, form.password.data)
        except AccountError as exc:
            db.session.rollback()
            supporter, error = None, str(exc)
        if supporter is not None:
            db.session.commit()
            _start_session(supporter, "password")
            return redirect(_next_url(form.next.data))
        if supporter is None and error is None:
            limits.count_failed_password(form.email.data)
        error = error or _(
            "That email and password don't match an account. "
            "Check them, or email yourself a sign-in link."
        )
    return render_template("accounts/login.html", form=form, error=error), _status(form)


def _password_sign_in_paused(form):
    """429 that offers the emailed link, which is never paused."""
    link_form = EmailForm(formdata=None, next=form.next.data or "")
    return render_template(
        "accounts/login.html",
        form=form,
        paused_email=form.email.data,
        link_form=link_form,
        error=_(
            "There have been too many wrong passwords for this account, so signing in with "
            "a password is paused for a few minutes. We can email you a sign-in link instead."
        ),
    ), 429


@bp.post("/logout")
def logout():
    _end_session()
    flash(_("You have signed out."))
    return redirect(url_for(".login"))


@bp.post("/logout-everywhere")
@login_required
def logout_everywhere():
    services.log_out_everywhere(current_user)
    db.session.commit()
    _end_session()
    flash(_("You have been signed out on every device."))
    return redirect(url_for(".login"))


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(limits.PER_ADDRESS, methods=["POST"])
@limiter.limit(limits.MAIL_PER_EMAIL, key_func=limits.email_key, methods=["POST"])
def reset_request():
    form = EmailForm()
    if form.validate_on_submit():
        link_mail.ask("reset", form.email.data)
        return redirect(url_for(".check_email", reason="reset"))
    return render_template("accounts/reset_request.html", form=form), _status(form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    try:
        services.check_reset_link(token)
    except LinkError as exc:
        return _link_problem(exc)
    except StaffIdentityError as exc:
        abort(403, description=str(exc))
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            supporter = services.reset_password(token, form.password.data)
        except LinkError as exc:
            return _link_problem(exc)
        except AccountError as exc:
            form.password.errors.append(str(exc))
        else:
            db.session.commit()
            _start_session(supporter, "link")
            flash(_("Your password has been changed, and you are signed in."))
            return redirect(url_for(".overview"))
    return render_template("accounts/reset_password.html", form=form), _status(form)


@bp.route("/sign-in-link", methods=["GET", "POST"])
@limiter.limit(limits.PER_ADDRESS, methods=["POST"])
@limiter.limit(limits.MAIL_PER_EMAIL, key_func=limits.email_key, methods=["POST"])
def magic_request():
    form = EmailForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        next_path = form.next.data if is_safe_redirect(form.next.data) else None
        link_mail.ask("magic", form.email.data, next_path)
        return redirect(url_for(".check_email", reason="magic"))
    return render_template("accounts/magic_request.html", form=form), _status(form)


@bp.route("/sign-in/<token>", methods=["GET", "POST"])
def magic_sign_in(token: str):
    """GET only shows a button, so mail scanners that open links cannot spend them."""
    try:
        services.check_sign_in_link(token)
    except LinkError as exc:
        return _link_problem(exc)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            claims = services.use_sign_in_link(token, session.get(REGISTRATION_PROOF))
        except LinkError as exc:
            return _link_problem(exc)
        db.session.commit()
        _start_session(claims.supporter, "link")
        return redirect(_next_url(claims.next_path))
    return render_template("accounts/magic_sign_in.html", form=form)


# --- Giving -------------------------------------------------------------------------------


@bp.get("")
@login_required
def overview():
    return render_template(
        "accounts/overview.html",
        gifts=giving.donation_history(current_user),
        pledges=giving.pledges_for(current_user),
        kept_elsewhere=pledge_actions.kept_elsewhere_channel,
        years=giving.statement_years(current_user),
        resend_form=ConfirmForm(),
    )


@bp.get("/receipts/<int:entry_id>")
@login_required
def receipt(entry_id: int):
    gift = giving.gift_for(current_user, entry_id) or abort(404)
    return render_template("accounts/receipt.html", gift=gift)


def _statement_or_404(year: int):
    problem = giving.statement_year_problem(year)
    if problem:
        abort(400, description=problem)
    statement = giving.yearly_statement(current_user, year)
    if not statement.gifts:
        abort(404, description=_("You have no gifts recorded in %(year)s.", year=year))
    return statement


@bp.get("/statements/<int:year>")
@login_required
def statement(year: int):
    return render_template("accounts/statement.html", statement=_statement_or_404(year))


@bp.get("/statements/<int:year>.pdf")
@login_required
def statement_download(year: int):
    with language.writing_in(_language_of_account()):  # in the supporter's language
        body = statement_pdf(
            _statement_or_404(year), current_user.name, current_user.email or "", SITE_NAME
        )
    response = current_app.response_class(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="giving-statement-{year}.pdf"'
    return response


# --- Pledges ------------------------------------------------------------------------------


def _own_pledge(pledge_id: int):
    return giving.pledge_for(current_user, pledge_id) or abort(404)


def _pledge_page(pledge, status: int = 200, **forms):
    forms.setdefault(
        "amount_form", AmountForm(amount=major_units_text(pledge.amount_minor, pledge.currency))
    )
    forms.setdefault("interval_form", IntervalForm(interval=pledge.interval))
    forms.setdefault("pause_form", PauseForm(months="1"))
    forms.setdefault("cancel_form", CancelForm())
    forms.setdefault("confirm_form", ConfirmForm())
    return render_template(
        "accounts/pledge.html",
        pledge=pledge,
        allowed=pledge_actions.allowed,
        kept_elsewhere=pledge_actions.kept_elsewhere(pledge),
        parts=giving.pledge_parts(pledge),
        pause=giving.pause_schedule(pledge),
        **forms,
    ), status


@bp.get("/pledges/<int:pledge_id>")
@login_required
def pledge(pledge_id: int):
    return _pledge_page(_own_pledge(pledge_id))


def _refused_elsewhere(pledge):
    """The pledge page with 409 when PayPal or Patreon keeps the pledge (None when we do):
    its changes are made there, so no action of ours may reach Stripe for it."""
    try:
        pledge_actions.refuse_if_kept_elsewhere(pledge)
    except PledgeActionError as exc:
        flash(str(exc), "error")
        return _pledge_page(pledge, 409)
    return None


def _run_pledge_action(pledge, form, form_name: str, action, done: str):
    """Validate, call the payments service, commit, and come back to the pledge page."""
    refused = _refused_elsewhere(pledge)
    if refused is not None:
        return refused
    if not form.validate_on_submit():
        return _pledge_page(pledge, 422, **{form_name: form})
    try:
        action()
    except PledgeActionError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(done)
    return redirect(url_for(".pledge", pledge_id=pledge.id))


@bp.post("/pledges/<int:pledge_id>/amount")
@login_required
def pledge_amount(pledge_id: int):
    pledge, form = _own_pledge(pledge_id), AmountForm()
    return _run_pledge_action(
        pledge,
        form,
        "amount_form",
        lambda: pledge_actions.change_amount(current_user, pledge, form.amount.data),
        _("Your new amount will be used from your next payment."),
    )


@bp.post("/pledges/<int:pledge_id>/interval")
@login_required
def pledge_interval(pledge_id: int):
    pledge, form = _own_pledge(pledge_id), IntervalForm()
    return _run_pledge_action(
        pledge,
        form,
        "interval_form",
        lambda: pledge_actions.change_interval(current_user, pledge, form.interval.data),
        _("How often you give has been changed, from your next payment."),
    )


@bp.post("/pledges/<int:pledge_id>/pause")
@login_required
def pledge_pause(pledge_id: int):
    pledge, form = _own_pledge(pledge_id), PauseForm()
    return _run_pledge_action(
        pledge,
        form,
        "pause_form",
        lambda: pledge_actions.pause(current_user, pledge, int(form.months.data)),
        _("Your pledge is paused."),
    )


@bp.post("/pledges/<int:pledge_id>/resume")
@login_required
def pledge_resume(pledge_id: int):
    pledge = _own_pledge(pledge_id)
    return _run_pledge_action(
        pledge,
        ConfirmForm(),
        "confirm_form",
        lambda: pledge_actions.resume(current_user, pledge),
        _("Your pledge is running again. Thank you!"),
    )


@bp.post("/pledges/<int:pledge_id>/cancel")
@login_required
def pledge_cancel(pledge_id: int):
    pledge, form = _own_pledge(pledge_id), CancelForm()
    refused = _refused_elsewhere(pledge)
    if refused is not None:
        return refused
    if form.validate_on_submit() and form.confirmed.data != "yes":
        # One more step: say what stops, and let the supporter keep the gift.
        return render_template("accounts/confirm_cancel.html", pledge=pledge, form=form)
    return _run_pledge_action(
        pledge,
        form,
        "cancel_form",
        lambda: pledge_actions.cancel(current_user, pledge, form.reason.data),
        _("Your pledge is cancelled. Thank you for all you have given."),
    )


@bp.route("/pledges/<int:pledge_id>/card", methods=["GET", "POST"])
@login_required
def pledge_card(pledge_id: int):
    """GET explains (the failed-payment email links here); POST goes to Stripe's card page."""
    pledge, form = _own_pledge(pledge_id), ConfirmForm()
    if pledge_actions.kept_elsewhere(pledge) is not None:
        if request.method == "GET":  # the card is PayPal's or Patreon's: say where, on the page
            return redirect(url_for(".pledge", pledge_id=pledge.id))
        return _refused_elsewhere(pledge)
    if not form.validate_on_submit():
        return render_template("accounts/pledge_card.html", pledge=pledge, form=form)
    return_url = current_app.config["BASE_URL"] + url_for(".pledge", pledge_id=pledge.id)
    try:
        target = pledge_actions.card_update_url(current_user, pledge, return_url)
    except PledgeActionError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for(".pledge", pledge_id=pledge.id))
    db.session.commit()
    return redirect(target, code=303)


# --- Settings and privacy -----------------------------------------------------------------


def _settings_page(status: int = 200, **forms):
    forms.setdefault("profile_form", ProfileForm(obj=current_user))
    forms.setdefault("password_form", ChangePasswordForm())
    forms.setdefault("confirm_form", ConfirmForm())
    forms.setdefault("language_form", language.LanguageForm(language=_language_of_account()))
    staff_url = services.staff_account_url() if services.is_staff_identity(current_user) else None
    return render_template("accounts/settings.html", staff_url=staff_url, **forms), status


@bp.get("/settings")
@login_required
def settings():
    return _settings_page()


@bp.post("/settings/profile")
@login_required
def update_profile():
    form = ProfileForm()
    if not form.validate_on_submit():
        return _settings_page(422, profile_form=form)
    services.update_profile(current_user, form.name.data or "", form.show_publicly.data)
    db.session.commit()
    flash(_("Your settings are saved."))
    return redirect(url_for(".settings"))


def _language_of_account() -> str:
    return current_user.language or current_language()


@bp.post("/settings/language")
@login_required
def update_language():
    """The language of the supporter's mails, receipts and statements (and of these pages)."""
    form = language.LanguageForm()
    if not form.validate_on_submit():
        return _settings_page(422, language_form=form)
    language.remember(current_user, form.language.data)
    db.session.commit()
    with language.writing_in(current_user.language):
        flash(gettext("Your language is saved."))
    return redirect(url_for(".settings", lang=current_user.language))


@bp.post("/settings/password")
@login_required
def change_password():
    _refuse_staff_identity()
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(
                current_user, form.current_password.data or "", form.password.data
            )
        except AccountError as exc:
            form.current_password.errors.append(str(exc))
        else:
            db.session.commit()
            # Every other session has ended; this one carries on under the new version.
            supporter = current_user._get_current_object()
            _start_session(supporter, session.get("signed_in_via", "password"))
            flash(_("Your password is changed. You have been signed out everywhere else."))
            return redirect(url_for(".settings"))
    return _settings_page(422, password_form=form)


@bp.get("/data.json")
@login_required
def export_data():
    body = json.dumps(privacy.export_data(current_user), indent=2, ensure_ascii=False)
    response = current_app.response_class(body, mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{privacy.export_filename()}"'
    return response


def _signed_in_by_recent_link() -> bool:
    signed_in_at = session.get("signed_in_at", 0)
    recent = time.time() - signed_in_at < services.reauthentication_window_seconds()
    return session.get("signed_in_via") == "link" and recent


@bp.route("/delete", methods=["GET", "POST"])
@login_required
def delete_account():
    _refuse_staff_identity()
    form = DeleteAccountForm()
    link_ok = _signed_in_by_recent_link()
    if form.validate_on_submit():
        try:
            privacy.check_deletion_allowed(current_user, form.password.data or "", link_ok)
            privacy.delete_account(current_user)
        except AccountError as exc:
            db.session.rollback()
            form.password.errors.append(str(exc))
        except PledgeActionError as exc:
            db.session.rollback()
            flash(_("Your account was not deleted: %(reason)s", reason=exc), "error")
            return redirect(url_for(".delete_account"))
        else:
            db.session.commit()
            _end_session()
            flash(_("Your account and personal data have been deleted."))
            return redirect(url_for("campaigns.landing"))
    return render_template(
        "accounts/delete.html", form=form, link_ok=link_ok, link_form=ConfirmForm()
    ), _status(form)


@bp.post("/delete/link")
@login_required
@limiter.limit("3 per 15 minutes", key_func=lambda: f"supporter:{current_user.get_id()}")
def delete_account_link():
    _refuse_staff_identity()
    services.send_sign_in_link(current_user, url_for(".delete_account"))
    db.session.commit()
    return redirect(url_for(".check_email", reason="delete"))
