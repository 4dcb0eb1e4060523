"""/staff routes: sign-in with TOTP, the dashboard, donations, supporters, exports and actions."""

from __future__ import annotations

import time
from datetime import datetime

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    stream_with_context,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm

from fundraiser.accounts import sessions as login_sessions
from fundraiser.campaigns import services as campaigns
from fundraiser.dashboard import actions, admin, audit, auth, export, lockout, reports
from fundraiser.dashboard.access import (
    mark_two_factor_passed,
    public,
    refuse_undeclared_views,
    staff_required,
)
from fundraiser.dashboard.chart import build_chart
from fundraiser.dashboard.cli import dashboard_cli, staff_cli
from fundraiser.dashboard.donations import donation_detail, donations_page, table_cells
from fundraiser.dashboard.forms import (
    CancelPledgeForm,
    ChartRangeForm,
    CodeForm,
    DonationFilterForm,
    EnrolForm,
    LoginForm,
    PageForm,
    RefundForm,
    RoleForm,
    SearchForm,
    SimpleActionForm,
    StaffPasswordForm,
)
from fundraiser.dashboard.overview import build_overview
from fundraiser.dashboard.periods import local_today, reporting_zone
from fundraiser.dashboard.staff_forms import PeriodForm, donation_filter_choices
from fundraiser.dashboard.supporter_page import supporter_extras
from fundraiser.dashboard.supporters import supporter_detail, supporters_page
from fundraiser.database_routing import read_from_replica
from fundraiser.extensions import db, limiter
from fundraiser.models import Pledge, Role, Supporter
from fundraiser.money import format_money, major_units_text
from fundraiser.payments import channel_notices
from fundraiser.payments.drift import drift_report
from fundraiser.security import is_safe_redirect

bp = Blueprint("dashboard", __name__, url_prefix="/staff")
bp.before_request(refuse_undeclared_views)


#: The sign-in steps read what the step before just wrote (the pending secret, the lockout),
#: so they always read the primary, never a replica that may lag.
SIGN_IN_STEPS = frozenset({"dashboard.login", "dashboard.second_factor", "dashboard.enrol"})


@bp.before_request
def read_pages_from_the_replica() -> None:
    """Staff reading figures may use DATABASE_REPLICA_URL; their actions write to the primary."""
    if request.method == "GET" and request.endpoint not in SIGN_IN_STEPS:
        read_from_replica()


#: How long the step between password and code may take.
PENDING_SECONDS = 10 * 60


def register(app: Flask) -> None:
    from fundraiser.dashboard import (
        channel_views,  # noqa: F401 - /staff/channels joins bp
        moderation,  # noqa: F401 - adds /staff/messages to bp
    )

    app.register_blueprint(bp)
    app.cli.add_command(staff_cli)
    app.cli.add_command(dashboard_cli)


@bp.after_request
def never_cache(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.context_processor
def helpers() -> dict:
    zone = reporting_zone()

    def local_time(moment: datetime | None, fmt: str = "%-d %b %Y %H:%M") -> str:
        return moment.astimezone(zone).strftime(fmt) if moment else ""

    return {"local_time": local_time, "zone_name": zone.key, "Role": Role}


# --- Signing in ------------------------------------------------------------------------------


def _pending_staff() -> Supporter | None:
    pending = session.get("staff_pending")
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None
    staff = db.session.get(Supporter, pending.get("id"))
    if staff is None or staff.session_version != pending.get("v"):
        return None
    return staff if auth.is_staff(staff) else None


def _restart_sign_in(message: str = "Please sign in again."):
    session.pop("staff_pending", None)
    flash(message, "error")
    return redirect(url_for("dashboard.login"))


def _finish_sign_in(staff: Supporter) -> None:
    next_url = session.get("staff_next")
    login_sessions.end_current()  # a session replaced here must not live on in a copied cookie
    session.clear()  # a fresh session: nothing from before the sign-in carries over
    login_user(staff)
    mark_two_factor_passed(staff)
    if next_url:
        session["staff_next"] = next_url


def _after_sign_in():
    target = session.pop("staff_next", None)
    return redirect(target if is_safe_redirect(target) else url_for("dashboard.index"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10/minute", methods=["POST"])
@public
def login():
    """Step one: email and password."""
    form = LoginForm()
    if not form.validate_on_submit():
        status = 400 if form.errors else 200
        return render_template("dashboard/login.html", form=form), status
    try:
        staff = auth.check_staff_password(form.email.data, form.password.data)
    except lockout.SignInLocked as locked:
        form.password.errors.append(locked.message)
        return render_template("dashboard/login.html", form=form), 429
    if staff is None:
        db.session.commit()  # keep the audit entry and the count of the failed attempt
        form.password.errors.append("Wrong email or password, or no staff access.")
        return render_template("dashboard/login.html", form=form), 400
    next_url = request.args.get("next")
    pending = {"id": staff.id, "v": staff.session_version, "at": time.time()}
    if not staff.totp_secret:
        pending["enrol"] = auth.begin_enrolment(staff)
        db.session.commit()
    login_sessions.end_current()
    session.clear()
    session["staff_pending"] = pending
    if is_safe_redirect(next_url):
        session["staff_next"] = next_url
    step = "dashboard.second_factor" if staff.totp_secret else "dashboard.enrol"
    return redirect(url_for(step))


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit("10/minute", methods=["POST"])
@public
def second_factor():
    """Step two: a code from the authenticator app, or a single-use recovery code."""
    staff = _pending_staff()
    if staff is None:
        return _restart_sign_in()
    if not staff.totp_secret:
        return redirect(url_for("dashboard.enrol"))
    form = CodeForm()
    if not form.validate_on_submit():
        status = 400 if form.errors else 200
        return render_template("dashboard/code.html", form=form), status
    try:
        method = auth.check_second_factor(staff, form.code.data)
    except lockout.SignInLocked as locked:
        db.session.commit()  # the failure that shut the account counts
        return _restart_sign_in(locked.message)
    db.session.commit()
    if method is None:
        form.code.errors.append("That code isn't right. Check the app's clock and try again.")
        return render_template("dashboard/code.html", form=form), 400
    _finish_sign_in(staff)
    if method == "recovery":
        left = auth.recovery_codes_left(staff)
        flash(f"You used a recovery code; {left} left. Make new ones on your account page.")
    return _after_sign_in()


@bp.route("/login/enrol", methods=["GET", "POST"])
@limiter.limit("10/minute", methods=["POST"])
@public
def enrol():
    """First sign-in: add the account to an authenticator app, then show recovery codes once."""
    staff = _pending_staff()
    if staff is None:
        return _restart_sign_in()
    if staff.totp_secret:
        return redirect(url_for("dashboard.second_factor"))
    enrolment = auth.pending_enrolment(staff, session["staff_pending"].get("enrol"))
    if enrolment is None:  # a newer sign-in to this account was shown another secret
        return _restart_sign_in()
    form = EnrolForm()
    if not form.validate_on_submit():
        status = 400 if form.errors else 200
        return render_template("dashboard/enrol.html", form=form, enrolment=enrolment), status
    codes = auth.finish_enrolment(staff, enrolment, form.code.data)
    if codes is None:
        db.session.rollback()
        form.code.errors.append("That code doesn't match. Scan the code again and retry.")
        return render_template("dashboard/enrol.html", form=form, enrolment=enrolment), 400
    db.session.commit()
    _finish_sign_in(staff)
    return render_template("dashboard/recovery_codes.html", codes=codes, first_time=True)


@bp.post("/logout")
@public
def logout():
    if current_user.is_authenticated:
        audit.record(f"staff:{current_user.id}", "staff.logout", f"supporter:{current_user.id}")
        db.session.commit()
    logout_user()
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("dashboard.login"))


def _account_page(password_form: StaffPasswordForm | None = None, status: int = 200):
    left = auth.recovery_codes_left(current_user)
    page = render_template(
        "dashboard/account.html",
        left=left,
        form=SimpleActionForm(),
        password_form=password_form or StaffPasswordForm(formdata=None),
    )
    return page, status


@bp.get("/account")
@staff_required(Role.VIEWER)
def account():
    return _account_page()


@bp.post("/account/password")
@staff_required(Role.VIEWER)
def change_password():
    """A staff member's own new password, behind the second factor and the current password."""
    form = StaffPasswordForm()
    if not form.validate_on_submit():
        return _account_page(form, 400)
    try:
        auth.change_own_password(current_user, form.current_password.data, form.password.data)
    except auth.PasswordChangeRefused as refused:
        db.session.commit()  # keep the audit entry and the count of a wrong current password
        form[refused.field].errors.append(str(refused))
        return _account_page(form, 400)
    db.session.commit()
    # Every other session has ended (the session version moved on); this one carries on.
    login_user(current_user._get_current_object())
    mark_two_factor_passed(current_user)
    flash("Your password is changed; your other sessions have been signed out.")
    return redirect(url_for("dashboard.account"))


@bp.post("/account/recovery-codes")
@staff_required(Role.VIEWER)
def new_recovery_codes():
    form = SimpleActionForm()
    if not form.validate_on_submit():
        abort(400, description="The form expired; please try again.")
    codes = auth.replace_recovery_codes(current_user)
    actor = audit.staff_actor(current_user)
    audit.record(actor, "staff.recovery_codes_replaced", f"supporter:{current_user.id}")
    db.session.commit()
    return render_template("dashboard/recovery_codes.html", codes=codes, first_time=False)


# --- Figures -----------------------------------------------------------------------------------


def _charts(start, end, campaign_id: int | None = None) -> list:
    series = reports.daily_totals(start, end, campaign_id)
    return [(build_chart(currency, days, format_money), days) for currency, days in series.items()]


@bp.get("/")
@staff_required(Role.VIEWER)
def index():
    """The overview of a period, headline figures per currency, the chart and click-throughs."""
    form = PeriodForm(request.args)
    valid = form.validate()
    period = form.chosen() if valid else PeriodForm().chosen()
    start, end = period.current.first, period.current.last
    page = render_template(
        "dashboard/index.html",
        form=form,
        overview=build_overview(period),
        headline=reports.headline(),
        charts=_charts(start, end),
        start=start,
        end=end,
        clicks=reports.click_throughs(),
        today=local_today(),
    )
    return page, 200 if valid else 400


@bp.get("/campaigns")
@staff_required(Role.VIEWER)
def campaign_list():
    rows = [(c, campaigns.campaign_totals(c)) for c in campaigns.all_campaigns()]
    return render_template("dashboard/campaigns.html", rows=rows)


@bp.get("/campaigns/<slug>")
@staff_required(Role.VIEWER)
def campaign(slug: str):
    """One campaign: goal progress, its figures, best days and latest gifts."""
    found = campaigns.campaign_by_slug(slug) or abort(404, description="No such campaign.")
    form = ChartRangeForm(request.args)
    valid = form.validate()
    start, end = form.chart_range() if valid else ChartRangeForm().chart_range()
    page = render_template(
        "dashboard/campaign.html",
        campaign=found,
        form=form,
        totals=campaigns.campaign_totals(found),
        headline=reports.headline(found.id),
        charts=_charts(start, end, found.id),
        start=start,
        end=end,
        top_days=reports.top_days(found),
        recent=reports.recent_payments(found.id),
        clicks=campaigns.outbound_clicks(found),
        action_form=SimpleActionForm(),
    )
    return page, 200 if valid else 400


def _campaign_action(slug: str, work) -> Response:
    found = campaigns.campaign_by_slug(slug) or abort(404, description="No such campaign.")
    if not SimpleActionForm().validate_on_submit():
        abort(400, description="The form expired; please try again.")
    work(found, audit.staff_actor(current_user))
    db.session.commit()
    flash(f"Saved: {found.title}")
    return redirect(url_for("dashboard.campaign_list"))


@bp.post("/campaigns/<slug>/open")
@staff_required(Role.ADMIN)
def open_campaign(slug: str):
    return _campaign_action(slug, lambda c, actor: admin.set_campaign_open(c, True, actor))


@bp.post("/campaigns/<slug>/close")
@staff_required(Role.ADMIN)
def close_campaign(slug: str):
    return _campaign_action(slug, lambda c, actor: admin.set_campaign_open(c, False, actor))


@bp.post("/campaigns/<slug>/default")
@staff_required(Role.ADMIN)
def default_campaign(slug: str):
    return _campaign_action(slug, admin.make_default_campaign)


# --- Donations -----------------------------------------------------------------------------


def _donation_filter_form() -> DonationFilterForm:
    form = DonationFilterForm(request.args)
    donation_filter_choices(form)
    return form


@bp.get("/donations")
@staff_required(Role.VIEWER)
def donations():
    """Every payment with its refunds and disputes, filtered, 50 a page."""
    form = _donation_filter_form()
    if not form.validate():
        return render_template("dashboard/donations.html", form=form, page=None), 400
    donation_filter = form.to_filter()
    found = donations_page(donation_filter, form.page.data or 1)
    return render_template(
        "dashboard/donations.html",
        form=form,
        page=found,
        table=table_cells(found.rows),
        args=donation_filter.as_args(),
    )


def csv_response(lines, name: str, filename: str | None = None) -> Response:
    """A streamed CSV download, named `<name>-<today>.csv` unless `filename` is given."""
    filename = filename or f"{name}-{local_today().isoformat()}.csv"
    return Response(
        stream_with_context(lines),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/donations.csv")
@staff_required(Role.VIEWER)
def export_donations():
    """The donations table for the current filter as CSV (docs/csv-export.md), streamed."""
    form = _donation_filter_form()
    if not form.validate():
        return render_template("dashboard/donations.html", form=form, page=None), 400
    donation_filter = form.to_filter()
    actor = audit.staff_actor(current_user)
    audit.record(actor, "export.donations", "donations", filter=donation_filter.as_args())
    db.session.commit()
    return csv_response(export.donations_csv(donation_filter), "donations")


@bp.get("/donations/<payment_ref>")
@staff_required(Role.VIEWER)
def donation(payment_ref: str):
    """One payment: its ledger entries, Stripe ids, supporter, and the refund/cancel actions."""
    detail = donation_detail(payment_ref) or abort(404, description="No such payment.")
    refund_form = RefundForm(
        formdata=None,
        amount=major_units_text(detail.refundable_minor, detail.payment.currency),
    )
    return render_template(
        "dashboard/donation.html",
        detail=detail,
        refund_form=refund_form,
        cancel_form=CancelPledgeForm(formdata=None),
    )


@bp.post("/donations/<payment_ref>/refund")
@staff_required(Role.STAFF)
def refund(payment_ref: str):
    """Refund in full or part: the first post asks for confirmation, the second does it."""
    detail = donation_detail(payment_ref) or abort(404, description="No such payment.")
    back = url_for("dashboard.donation", payment_ref=payment_ref)
    form = RefundForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            flash(" ".join(errors), "error")
        return redirect(back)
    try:
        amount_minor = actions.refund_amount(detail, form.amount.data)
        if form.confirmed.data != "yes":
            return render_template(
                "dashboard/confirm_refund.html", detail=detail, form=form, amount=amount_minor
            )
        refund_id = actions.request_refund(detail, amount_minor, form.reason.data, current_user)
    except actions.ActionError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(back)
    db.session.commit()
    amount_text = format_money(amount_minor, detail.payment.currency)
    flash(f"Refund of {amount_text} sent to Stripe ({refund_id}).")
    return redirect(back)


@bp.post("/pledges/<int:pledge_id>/cancel")
@staff_required(Role.STAFF)
def cancel_pledge(pledge_id: int):
    """Cancel a supporter's pledge at Stripe, after a confirmation step."""
    pledge = db.session.get(Pledge, pledge_id) or abort(404, description="No such pledge.")
    back = request.form.get("back", "")
    if not is_safe_redirect(back):
        back = url_for("dashboard.supporter", email=pledge.email) if pledge.email else None
    back = back or url_for("dashboard.donations")
    form = CancelPledgeForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            flash(" ".join(errors), "error")
        return redirect(back)
    try:
        actions.check_cancellable(pledge)
        if form.confirmed.data != "yes":
            return render_template(
                "dashboard/confirm_cancel.html", pledge=pledge, form=form, back=back
            )
        actions.cancel_pledge(pledge, form.reason.data, current_user)
    except actions.ActionError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(back)
    db.session.commit()
    flash(f"Pledge {pledge.stripe_subscription_id} is cancelled at Stripe.")
    return redirect(back)


# --- Supporters ----------------------------------------------------------------------------


@bp.get("/supporters")
@staff_required(Role.VIEWER)
def supporters():
    """Everyone who gave: totals per currency, pledges, account and consent to be listed."""
    form = SearchForm(request.args)
    if not form.validate():
        return render_template("dashboard/supporters.html", form=form, page=None), 400
    found = supporters_page(form.q.data or "", form.page.data or 1)
    args = {"q": form.q.data} if form.q.data else {}
    return render_template("dashboard/supporters.html", form=form, page=found, args=args)


@bp.get("/supporters.csv")
@staff_required(Role.VIEWER)
def export_supporters():
    """Supporters for the current search as CSV (docs/csv-export.md), streamed."""
    form = SearchForm(request.args)
    if not form.validate():
        return render_template("dashboard/supporters.html", form=form, page=None), 400
    text = (form.q.data or "").strip()
    actor = audit.staff_actor(current_user)
    audit.record(actor, "export.supporters", "supporters", q=text)
    db.session.commit()
    return csv_response(export.supporters_csv(text), "supporters")


@bp.get("/supporters/<email>")
@staff_required(Role.VIEWER)
def supporter(email: str):
    """One supporter's giving history, pledges and account."""
    detail = supporter_detail(email) or abort(404, description="No supporter with that email.")
    extras = supporter_extras(detail)
    return render_template("dashboard/supporter.html", detail=detail, extras=extras)


# --- Audit and team ------------------------------------------------------------------------


@bp.get("/audit")
@staff_required(Role.VIEWER)
def audit_log():
    """Every staff action (and payment events), newest first."""
    form = PageForm(request.args)
    if not form.validate():
        abort(400, description="That page number isn't valid.")
    found = audit.audit_page(form.page.data or 1, action=form.action.data or "")
    return render_template("dashboard/audit.html", page=found, detail_of=audit.detail_of, form=form)


@bp.get("/team")
@staff_required(Role.ADMIN)
def team():
    members = admin.staff_members()
    return render_template(
        "dashboard/team.html",
        members=members,
        recovery_left=auth.recovery_codes_left,
        locked_for=lockout.seconds_locked,
    )


def _member_or_404(member_id: int) -> Supporter:
    member = db.session.get(Supporter, member_id)
    if member is None or member.role not in admin.STAFF_ROLES:
        abort(404, description="No such staff member.")
    return member


def _team_action(member_id: int, form, work) -> Response:
    member = _member_or_404(member_id)
    if not form.validate_on_submit():
        abort(400, description="The form expired or was incomplete; please try again.")
    try:
        work(member, audit.staff_actor(current_user))
    except admin.AdminError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("dashboard.team"))
    db.session.commit()
    flash(f"Saved: {member.email}")
    return redirect(url_for("dashboard.team"))


@bp.post("/team/<int:member_id>/role")
@staff_required(Role.ADMIN)
def change_role(member_id: int):
    form = RoleForm()
    return _team_action(member_id, form, lambda m, actor: admin.set_role(m, form.role.data, actor))


@bp.post("/team/<int:member_id>/disable")
@staff_required(Role.ADMIN)
def disable_member(member_id: int):
    return _team_action(member_id, SimpleActionForm(), admin.disable)


@bp.post("/team/<int:member_id>/enable")
@staff_required(Role.ADMIN)
def enable_member(member_id: int):
    return _team_action(member_id, SimpleActionForm(), admin.enable)


@bp.post("/team/<int:member_id>/reset-2fa")
@staff_required(Role.ADMIN)
def reset_member_2fa(member_id: int):
    return _team_action(member_id, SimpleActionForm(), admin.reset_second_factor)


# --- Drift between Stripe and our books ---------------------------------------------------


@bp.get("/drift")
@staff_required(Role.VIEWER)
def drift():
    """Where Stripe and our books disagree, and when reconcile last ran."""
    report = drift_report(since_days=30)
    return render_template(
        "dashboard/drift.html", report=report, raw_keep=channel_notices.RAW_KEEP_CHARS
    )


@bp.post("/drift/reconcile")
@staff_required(Role.ADMIN)
def run_reconcile():
    """Run reconcile for the last 30 days now (the same as `flask stripe reconcile`)."""
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400, description="The form expired; please try again.")
    report = actions.reconcile_recent(current_user)
    db.session.commit()
    flash(
        f"Reconcile finished: {report.events_applied} missed events and "
        f"{report.objects_fixed} objects applied, {report.failures} failures.",
        "error" if report.failures else "info",
    )
    return redirect(url_for("dashboard.drift"))


# The staff desk registers its routes on `bp` (kept in its own module for an easy merge).
from fundraiser.dashboard import desk_views  # noqa: E402, F401
