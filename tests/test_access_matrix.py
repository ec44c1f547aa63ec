"""The access matrix: every route of the URL map (web and API; only `static` is skipped),
called as each of ten users, against a world with a case in every state a move starts
from. The expected outcome of every cell is written in TABLE below; a route (or method)
without a row fails the test, and so does any cell that answers otherwise.

Codes:
  ok      2xx, or a redirect to a page (not to the sign-in page, no error message)
  L       sent to sign in: 302 to /auth/login (web), 401 (API)
  403     the user's account may never do this (a role gate)
  404     not found, or not visible to this user (a case one may not see is always 404)
  msg     web only: a redirect with an error message (the rule said no: a DomainError)
  409/422 the user may act on this case, but not in its state / not with this input

Every call runs inside a SAVEPOINT that is rolled back afterwards, so each cell sees the
same world. A call whose code is not `ok` must not write anything (checked by watching
for INSERT/UPDATE/DELETE and, if any ran, comparing every row of every table). Every
answer's text is searched for what the caller must never see: the party consumer's name,
phone and address (for those who are not a party), the mediator's private note, the other
consumer's details. For the users who may not see the case, every call is made again with
ids nobody has: the answer must be the same (no oracle telling an existing case from a
missing one).

Set ODR_MATRIX_PRINT=1 to print the observed table (to write the row of a new route).
"""

import io
import os
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import url_for

from odr.auth import operations as auth_ops
from odr.auth.models import User
from odr.disputes import deadlines
from odr.disputes.deadlines import invalidate_overrides
from odr.extensions import db
from odr.types import utcnow
from tests import access_world
from tests.access_runner import (  # noqa: F401 - fixtures
    NOWHERE,
    classify,
    fast_passwords,
    stand_in_records,
    text_of,
    undone,
    world_transaction,
)
from tests.factories import PASSWORD, browser_session, complaint_data, credit_code

# Columns of TABLE, in order.
COLUMNS = (
    "anonymous",  # nobody signed in
    "party_consumer",  # the consumer of the case
    "other_consumer",  # a consumer with a case of their own elsewhere
    "respondent_agent",  # an agent of the enterprise complained about
    "other_agent",  # an agent of another enterprise
    "competent_mediator",  # the case's mediator at the competent (Jinshui) office
    "other_mediator",  # a mediator (head) of another office (Laocheng)
    "admin",  # the regulator
    "respondent_owner",  # the owner of the respondent enterprise (owner-only pages)
    "competent_head",  # the head of the Jinshui office (head-only actions)
)
# Who may not see the case: their answers must not depend on whether the ids exist.
STRANGERS = ("anonymous", "other_consumer", "other_agent", "other_mediator")
# Routes whose ids are public anyway: a joint complaint is listed for anyone to join while
# it gathers members, and joining one that was submitted since answers 409 (API.md), not the
# 404 of an id that never existed.
PUBLISHED_IDS = {"POST api.join_joint", "POST consumer.joint_join"}

# ano anonymous, pty party consumer, oth other consumer, agt respondent's agent, riv agent
# of another enterprise, med the case's mediator, omd mediator of another office, adm admin,
# own respondent's owner, hd head of the competent office.
# fmt: off
TABLE = {
    #                                      ano pty oth agt riv med omd adm own hd
    "GET public.home":                    "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "GET public.favicon":                 "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "GET admin.dashboard":                "L   403 403 403 403 403 403 ok  403 403",
    "GET admin.analytics_csv":            "L   403 403 403 403 403 403 ok  403 403",
    "GET admin.bodies":                   "L   403 403 403 403 403 403 ok  403 403",
    "POST admin.body_create":             "L   403 403 403 403 403 403 ok  403 403",
    "GET admin.body":                     "L   403 403 403 403 403 403 ok  403 403",
    "POST admin.body_active":             "L   403 403 403 403 403 403 msg 403 403",
    "POST admin.mediator_create":         "L   403 403 403 403 403 403 ok  403 403",
    "POST admin.mediator_head":           "L   403 403 403 403 403 403 ok  403 403",
    "POST admin.body_move":               "L   403 403 403 403 403 403 ok  403 403",
    "GET admin.calendar":                 "L   403 403 403 403 403 403 ok  403 403",
    "POST admin.calendar_day":            "L   403 403 403 403 403 403 ok  403 403",
    "POST admin.calendar_load":           "L   403 403 403 403 403 403 ok  403 403",
    "GET admin.enterprises":              "L   403 403 403 403 403 403 ok  403 403",
    "GET admin.enterprise":               "L   403 403 403 403 403 403 ok  403 403",
    "POST admin.enterprise_decide":       "L   403 403 403 403 403 403 ok  403 403",
    "GET admin.enterprise_licence":       "L   403 403 403 403 403 403 ok  403 403",
    "POST admin.mediator_active":         "L   403 403 403 403 403 403 ok  403 403",
    "POST admin.mediator_move":           "L   403 403 403 403 403 403 ok  403 403",
    "GET admin.alerts":                   "L   403 403 403 403 403 403 ok  403 403",
    "GET admin.performance":              "L   403 403 403 403 403 403 ok  403 403",
    "GET admin.requests":                 "L   403 403 403 403 403 403 ok  403 403",
    "GET admin.request_detail":           "L   403 403 403 403 403 403 ok  403 403",
    "POST admin.request_act":             "L   403 403 403 403 403 403 ok  403 403",
    "GET admin.warnings":                 "L   403 403 403 403 403 403 ok  403 403",
    "GET admin.warning_edit":             "L   403 403 403 403 403 403 ok  403 403",
    "POST admin.warning_edit":            "L   403 403 403 403 403 403 ok  403 403",
    "POST admin.warning_publish":         "L   403 403 403 403 403 403 ok  403 403",
    "GET admin.warning_new":              "L   403 403 403 403 403 403 ok  403 403",
    "POST admin.warning_new":             "L   403 403 403 403 403 403 ok  403 403",
    "POST api.create_token":              "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "POST api.file_complaint":            "L   ok  ok  403 403 403 403 403 403 403",
    "GET api.list_complaints":            "L   ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "GET api.show_complaint":             "L   ok  404 ok  404 ok  404 ok  ok  ok",
    "POST api.accept_case":               "L   403 404 403 404 ok  404 403 403 ok",
    "POST api.propose_agreement":         "L   403 404 403 404 ok  404 403 403 ok",
    "POST api.sign_agreement":            "L   ok  404 ok  404 403 404 403 ok  403",
    "POST api.ask_for_changes":           "L   ok  404 ok  404 403 404 403 ok  403",
    "POST api.assign_case":               "L   403 404 403 404 403 404 403 403 ok",
    "POST api.decline_complaint":         "L   403 404 ok  404 404 404 403 ok  404",
    "POST api.escalate_complaint":        "L   ok  404 403 404 404 404 403 403 404",
    "POST api.reopen_complaint":          "L   409 404 403 404 404 404 403 403 404",
    "POST api.upload_evidence":           "L   ok  404 ok  404 ok  404 403 ok  ok",
    "GET api.list_messages":              "L   ok  404 ok  404 ok  404 ok  ok  ok",
    "POST api.post_message":              "L   ok  404 ok  404 ok  404 403 ok  ok",
    "POST api.make_offer":                "L   403 404 ok  404 404 404 403 ok  404",
    "POST api.accept_offer":              "L   ok  404 403 404 404 404 403 403 404",
    "POST api.reject_offer":              "L   ok  404 403 404 404 404 403 403 404",
    "POST api.report_performance":        "L   ok  404 ok  404 404 404 403 ok  404",
    "POST api.rate_complaint":            "L   ok  404 403 404 404 404 403 403 404",
    "GET api.list_records":               "L   ok  404 ok  404 ok  404 404 ok  ok",
    "GET api.session_ics":                "L   ok  404 ok  404 ok  404 404 ok  ok",
    "GET api.list_notifications":         "L   ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "POST api.read_notification":         "L   ok  404 404 404 404 404 404 404 404",
    "POST api.read_all_notifications":    "L   ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "POST api.refuse_case":               "L   403 404 403 404 ok  404 403 403 ok",
    "POST api.resume_case":               "L   403 404 403 404 ok  404 403 403 ok",
    "POST api.suspend_case":              "L   403 404 403 404 ok  404 403 403 ok",
    "POST api.terminate_case":            "L   403 404 403 404 ok  404 403 403 ok",
    "POST api.transfer_case":             "L   403 404 403 404 ok  404 403 403 ok",
    "POST api.withdraw_complaint":        "L   ok  404 403 404 404 404 403 403 404",
    "POST api.register_consumer":         "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "POST api.apply_enterprise":          "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "GET api.search_enterprises":         "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "POST api.approve_enterprise":        "L   403 403 403 403 403 403 ok  403 403",
    "POST api.exit_enterprise":           "L   403 403 403 403 403 403 ok  403 403",
    "POST api.reinstate_enterprise":      "L   403 403 403 403 403 403 409 403 403",
    "POST api.suspend_enterprise":        "L   403 403 403 403 403 403 ok  403 403",
    "GET api.openapi_document":           "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "GET api.record_pdf":                 "L   ok  404 ok  404 ok  404 404 ok  ok",
    "GET api.enterprise_stats":           "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "POST api.create_integration_token":  "L   403 403 403 403 403 403 403 ok  403",
    "GET api.list_tokens":                "L   403 403 403 403 403 403 403 ok  403",
    "DELETE api.revoke_token":            "L   403 403 403 403 403 403 403 ok  403",
    "GET api.verify_record":              "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "POST api.create_webhook":            "L   403 403 403 403 403 403 403 ok  403",
    "GET api.list_webhooks":              "L   403 403 ok  ok  403 403 403 ok  403",
    "DELETE api.delete_webhook":          "L   403 403 403 403 403 403 403 ok  403",
    "GET auth.accept_invite":             "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "POST auth.accept_invite":            "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "GET auth.login":                     "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "POST auth.login":                    "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "POST auth.logout":                   "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "GET auth.me":                        "L   ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "GET auth.register":                  "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "POST auth.register":                 "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "GET auth.reset_request":             "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "POST auth.reset_request":            "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "GET auth.reset":                     "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "POST auth.reset":                    "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "GET consumer.cases":                 "L   ok  ok  403 403 403 403 403 403 403",
    "GET consumer.case":                  "L   ok  404 403 403 403 403 403 403 403",
    "POST consumer.case":                 "L   ok  404 403 403 403 403 403 403 403",
    "POST consumer.escalate":             "L   ok  404 403 403 403 403 403 403 403",
    "POST consumer.add_evidence":         "L   ok  404 403 403 403 403 403 403 403",
    "GET consumer.evidence":              "L   ok  404 ok  404 ok  404 404 ok  ok",
    "POST consumer.message":              "L   ok  404 403 403 403 403 403 403 403",
    "POST consumer.accept_offer":         "L   ok  404 403 403 403 403 403 403 403",
    "POST consumer.reject_offer":         "L   ok  404 403 403 403 403 403 403 403",
    "POST consumer.performance":          "L   ok  404 403 403 403 403 403 403 403",
    "POST consumer.ask_for_changes":      "L   ok  404 403 403 403 403 403 403 403",
    "POST consumer.reopen":               "L   msg 404 403 403 403 403 403 403 403",
    "POST consumer.rating":               "L   ok  404 403 403 403 403 403 403 403",
    "GET consumer.record":                "L   ok  404 ok  404 ok  404 404 ok  ok",
    "GET consumer.record_status":         "L   ok  404 ok  404 ok  404 404 ok  ok",
    "GET consumer.session_ics":           "L   ok  404 ok  404 ok  404 404 ok  ok",
    "POST consumer.withdraw":             "L   ok  404 403 403 403 403 403 403 403",
    "GET consumer.draft_resume":          "L   ok  404 403 403 403 403 403 403 403",
    "GET consumer.wizard":                "L   ok  404 403 403 403 403 403 403 403",
    "POST consumer.wizard":               "L   ok  404 403 403 403 403 403 403 403",
    "POST consumer.draft_delete":         "L   ok  404 403 403 403 403 403 403 403",
    "GET consumer.draft_evidence_file":   "L   ok  404 403 403 403 403 403 403 403",
    "POST consumer.draft_evidence_remove":"L   ok  404 403 403 403 403 403 403 403",
    "GET consumer.file_start":            "L   ok  ok  403 403 403 403 403 403 403",
    "POST consumer.file_start":           "L   ok  ok  403 403 403 403 403 403 403",
    "GET requests.index":                 "L   ok  ok  403 403 403 403 403 403 403",
    "GET requests.detail":                "L   ok  404 403 403 403 403 403 403 403",
    "GET requests.new":                   "L   ok  ok  403 403 403 403 403 403 403",
    "POST requests.new":                  "L   ok  ok  403 403 403 403 403 403 403",
    "GET public.scoreboard":              "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "GET public.healthz":                 "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "GET set_language":                   "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "GET mediation.queue":                "L   403 403 403 403 ok  ok  403 403 ok",
    "GET mediation.workspace":            "L   403 403 403 403 ok  404 403 403 ok",
    "POST mediation.accept":              "L   403 403 403 403 ok  404 403 403 ok",
    "GET mediation.acceptance":           "L   403 403 403 403 ok  404 403 403 ok",
    "POST mediation.propose":             "L   403 403 403 403 ok  404 403 403 ok",
    "POST mediation.assign":              "L   403 403 403 403 403 404 403 403 ok",
    "POST mediation.issue_case_file":     "L   403 403 403 403 ok  404 403 403 ok",
    "GET mediation.evidence":             "L   403 403 403 403 ok  404 403 403 ok",
    "POST mediation.hand_down":           "L   403 403 403 403 404 404 403 403 404",
    "POST mediation.post_message":        "L   403 403 403 403 ok  404 403 403 ok",
    "POST mediation.pull_up":             "L   403 403 403 403 404 404 403 403 404",
    "POST mediation.reassign":            "L   403 403 403 403 403 404 403 403 ok",
    "GET mediation.record":               "L   403 403 403 403 ok  404 403 403 ok",
    "POST mediation.refuse":              "L   403 403 403 403 ok  404 403 403 ok",
    "POST mediation.resume":              "L   403 403 403 403 ok  404 403 403 ok",
    "POST mediation.schedule":            "L   403 403 403 403 ok  404 403 403 ok",
    "POST mediation.suspend":             "L   403 403 403 403 ok  404 403 403 ok",
    "POST mediation.terminate":           "L   403 403 403 403 ok  404 403 403 ok",
    "POST mediation.transfer":            "L   403 403 403 403 ok  404 403 403 ok",
    "GET merchant.apply":                 "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "POST merchant.apply":                "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "GET merchant.applied":               "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "GET merchant.case":                  "L   403 403 ok  404 403 403 403 ok  403",
    "POST merchant.case":                 "L   403 403 ok  404 403 403 403 ok  403",
    "POST merchant.decline":              "L   403 403 ok  404 403 403 403 ok  403",
    "POST merchant.upload_evidence":      "L   403 403 ok  404 403 403 403 ok  403",
    "GET merchant.evidence_file":         "L   403 403 ok  404 403 403 403 ok  403",
    "POST merchant.post_message":         "L   403 403 ok  404 403 403 403 ok  403",
    "POST merchant.make_offer":           "L   403 403 ok  404 403 403 403 ok  403",
    "POST merchant.performance":          "L   403 403 ok  404 403 403 403 ok  403",
    "POST merchant.ask_for_changes":      "L   403 403 ok  404 403 403 403 ok  403",
    "GET merchant.record_pdf":            "L   403 403 ok  404 403 403 403 ok  403",
    "GET merchant.inbox":                 "L   403 403 ok  ok  403 403 403 ok  403",
    "POST merchant.assign":               "L   403 403 ok  msg 403 403 403 ok  403",
    "GET merchant.export":                "L   403 403 ok  ok  403 403 403 ok  403",
    "GET merchant.integration":           "L   403 403 403 403 403 403 403 ok  403",
    "POST merchant.create_token":         "L   403 403 403 403 403 403 403 ok  403",
    "POST merchant.revoke_token":         "L   403 403 403 403 403 403 403 ok  403",
    "POST merchant.create_webhook":       "L   403 403 403 403 403 403 403 ok  403",
    "GET merchant.webhook_log":           "L   403 403 403 403 403 403 403 ok  403",
    "POST merchant.deactivate_webhook":   "L   403 403 403 403 403 403 403 ok  403",
    "GET merchant.staff":                 "L   403 403 403 403 403 403 403 ok  403",
    "POST merchant.reinvite":             "L   403 403 403 403 403 403 403 ok  403",
    "POST merchant.remove":               "L   403 403 403 403 403 403 403 ok  403",
    "POST merchant.invite":               "L   403 403 403 403 403 403 403 ok  403",
    "GET public.notifications":           "L   ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "POST public.notifications_read":     "L   ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "POST public.notification_read":      "L   ok  404 404 404 404 404 404 404 404",
    "GET office.requests":                "L   403 403 403 403 ok  ok  403 403 ok",
    "GET office.request_detail":          "L   403 403 403 403 ok  404 403 403 ok",
    "POST office.request_act":            "L   403 403 403 403 ok  404 403 403 ok",
    "POST public.verify_file":            "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "GET public.verify_form":             "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "GET public.verify_code":             "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "POST public.verify_upload":          "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "GET public.warnings":                "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "GET public.warning":                 "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
    # Joint complaints: the world's group is submitted, the party consumer its representative.
    "GET api.joint_record":               "L   ok  404 ok  404 404 404 ok  ok  404",
    "GET api.list_joints":                "L   ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "GET api.show_joint":                 "L   ok  404 ok  404 404 404 ok  ok  404",
    "GET consumer.joint_detail":          "L   ok  404 403 403 403 403 403 403 403",
    "GET consumer.joint_list":            "L   ok  ok  403 403 403 403 403 403 403",
    "GET consumer.joint_new":             "L   ok  ok  403 403 403 403 403 403 403",
    "GET consumer.joint_record":          "L   ok  404 403 403 403 403 403 403 403",
    "GET merchant.joint_case":            "L   403 403 ok  404 403 403 403 ok  403",
    "POST api.accept_joint":              "L   403 404 403 404 404 404 403 403 404",
    "POST api.decline_joint":             "L   403 404 ok  404 404 404 403 ok  404",
    "POST api.elect_representatives":     "L   ok  404 403 404 404 404 403 403 404",
    "POST api.join_joint":                "L   409 409 403 403 403 403 403 403 403",
    "POST api.leave_joint":               "L   ok  404 403 404 404 404 403 403 404",
    "POST api.offer_joint":               "L   403 404 ok  404 404 404 403 ok  404",
    "POST api.propose_joint_agreement":   "L   403 404 403 404 404 404 403 403 404",
    "POST api.sign_joint_agreement":      "L   403 404 409 404 404 404 403 409 404",
    "POST api.start_joint":               "L   ok  ok  403 403 403 403 403 403 403",
    "POST api.submit_joint":              "L   409 404 403 404 404 404 403 403 404",
    "POST consumer.joint_elect":          "L   ok  404 403 403 403 403 403 403 403",
    "POST consumer.joint_join":           "L   msg msg 403 403 403 403 403 403 403",
    "POST consumer.joint_leave":          "L   ok  404 403 403 403 403 403 403 403",
    "POST consumer.joint_new":            "L   ok  ok  403 403 403 403 403 403 403",
    "POST consumer.joint_submit":         "L   msg 404 403 403 403 403 403 403 403",
    "POST merchant.joint_decline":        "L   403 403 ok  404 403 403 403 ok  403",
    "POST merchant.joint_offer":          "L   403 403 ok  404 403 403 403 ok  403",
    "POST merchant.joint_sign":           "L   403 403 msg 404 403 403 403 msg 403",
    "GET mediation.joint_group":          "L   403 403 403 403 404 404 403 403 404",
    "POST mediation.joint_accept":        "L   403 403 403 403 404 404 403 403 404",
    "POST mediation.joint_agreement":     "L   403 403 403 403 404 404 403 403 404",
    "GET admin.stations":                 "L   403 403 403 403 403 403 ok  403 403",
    "POST admin.station_create":          "L   403 403 403 403 403 403 ok  403 403",
    "POST admin.station_active":          "L   403 403 403 403 403 403 ok  403 403",
    "POST admin.intake_user_create":      "L   403 403 403 403 403 403 ok  403 403",
    "POST admin.intake_user_active":      "L   403 403 403 403 403 403 ok  403 403",
    "GET auth.claim":                     "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "POST auth.claim":                    "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
    "GET intake.home":                    "L   403 403 403 403 403 403 403 403 403",
    "GET intake.file_complaint":          "L   403 403 403 403 403 403 403 403 403",
    "POST intake.file_complaint":         "L   403 403 403 403 403 403 403 403 403",
    "GET intake.case":                    "L   403 403 403 403 403 403 403 403 403",
    "POST intake.case":                   "L   403 403 403 403 403 403 403 403 403",
    "GET intake.new_consultation":        "L   403 403 403 403 403 403 403 403 403",
    "POST intake.new_consultation":       "L   403 403 403 403 403 403 403 403 403",
    "GET intake.consultation":            "L   403 403 403 403 403 403 403 403 403",
    "POST intake.consultation":           "L   403 403 403 403 403 403 403 403 403",
    "POST api.intake_complaint":          "L   403 403 403 403 403 403 403 403 403",
    "POST api.intake_transfer_complaint": "L   403 403 403 403 403 403 403 403 403",
    "POST api.log_consultation":          "L   403 403 403 403 403 403 403 403 403",
    "GET api.list_consultations":         "L   403 403 403 403 403 403 ok  403 403",
    "GET api.show_consultation":          "L   403 403 403 403 403 403 ok  403 403",
    "POST api.transfer_consultation":     "L   403 403 403 403 403 403 403 403 403",
    "GET api.intake_workload":            "L   403 403 403 403 403 403 403 403 403",
    "GET api.outcome_guidance":           "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
}
# fmt: on

# Which case a route's <complaint_id>/<case_id> names (default: the case in mediation).
CASE = {
    **dict.fromkeys(
        (
            "POST consumer.accept_offer",
            "POST consumer.reject_offer",
            "POST consumer.escalate",
            "POST consumer.withdraw",
            "POST merchant.make_offer",
            "POST merchant.decline",
            "POST api.make_offer",
            "POST api.accept_offer",
            "POST api.reject_offer",
            "POST api.decline_complaint",
            "POST api.escalate_complaint",
            "POST api.withdraw_complaint",
        ),
        "negotiating",
    ),
    **dict.fromkeys(
        (
            "GET mediation.acceptance",
            "POST mediation.accept",
            "POST mediation.refuse",
            "POST mediation.transfer",
            "POST mediation.assign",
            "POST api.accept_case",
            "POST api.refuse_case",
            "POST api.transfer_case",
            "POST api.assign_case",
        ),
        "pending",
    ),
    **dict.fromkeys(
        (
            "POST consumer.performance",
            "POST consumer.rating",
            "POST merchant.performance",
            "POST api.report_performance",
            "POST api.rate_complaint",
            # No breach was reported on it: the party is told no (the rule, not the role).
            "POST consumer.reopen",
            "POST api.reopen_complaint",
        ),
        "settled",
    ),
    **dict.fromkeys(("POST mediation.resume", "POST api.resume_case"), "suspended"),
}

# URL parameters that are not the case's own.
PARAMS = {
    "GET admin.analytics_csv": lambda w: {"name": "states"},
    "POST admin.request_act": lambda w: {"action": "extend"},
    "POST office.request_act": lambda w: {"action": "extend"},
    "GET consumer.wizard": lambda w: {"step": "respondent"},
    "POST consumer.wizard": lambda w: {"step": "respondent"},
    "GET consumer.draft_evidence_file": lambda w: {"evidence_id": w.ids["draft_evidence_id"]},
    "POST consumer.draft_evidence_remove": lambda w: {"evidence_id": w.ids["draft_evidence_id"]},
    "GET merchant.evidence_file": lambda w: {"evidence_id": w.ids["merchant_evidence_id"]},
    "GET requests.new": lambda w: {"kind": "report"},
    "POST requests.new": lambda w: {"kind": "report"},
    "GET set_language": lambda w: {"code": "en"},
    "POST admin.warning_edit": lambda w: {"warning_id": w.ids["draft_warning_id"]},
    "GET admin.warning_edit": lambda w: {"warning_id": w.ids["draft_warning_id"]},
    "POST admin.warning_publish": lambda w: {"warning_id": w.ids["draft_warning_id"]},
    "POST admin.mediator_head": lambda w: {"user_id": w.ids["mediator_id"]},
    "POST admin.mediator_active": lambda w: {"user_id": w.ids["mediator_id"]},
    "POST admin.mediator_move": lambda w: {"user_id": w.ids["mediator_id"]},
    "POST merchant.reinvite": lambda w: {"user_id": w.ids["invited_id"]},
    "POST merchant.remove": lambda w: {"user_id": w.ids["agent_id"]},
    "POST api.suspend_enterprise": lambda w: {"enterprise_id": w.ids["respondent_id"]},
    "POST api.exit_enterprise": lambda w: {"enterprise_id": w.ids["respondent_id"]},
    **{
        key: (lambda w: {"joint_id": w.ids["joint_id"]})
        for key in (
            "GET api.show_joint",
            "POST api.join_joint",
            "POST api.leave_joint",
            "POST api.elect_representatives",
            "POST api.submit_joint",
            "POST api.offer_joint",
            "POST api.decline_joint",
            "POST api.accept_joint",
            "POST api.propose_joint_agreement",
            "POST api.sign_joint_agreement",
            "GET api.joint_record",
            "GET consumer.joint_detail",
            "POST consumer.joint_join",
            "POST consumer.joint_leave",
            "POST consumer.joint_elect",
            "POST consumer.joint_submit",
            "GET consumer.joint_record",
            "GET merchant.joint_case",
            "POST merchant.joint_offer",
            "POST merchant.joint_decline",
            "POST merchant.joint_sign",
            "GET mediation.joint_group",
            "POST mediation.joint_accept",
            "POST mediation.joint_agreement",
        )
    },
    "POST admin.station_active": lambda w: {"station_id": w.ids["station_id"]},
    "POST admin.intake_user_active": lambda w: {"user_id": w.ids["seat_id"]},
    "GET auth.claim": lambda w: {"token": w.ids["claim_token"]},
    "POST auth.claim": lambda w: {"token": w.ids["claim_token"]},
    "GET intake.consultation": lambda w: {"consultation_id": w.ids["consultation_id"]},
    "POST intake.consultation": lambda w: {"consultation_id": w.ids["consultation_id"]},
    "GET api.show_consultation": lambda w: {"consultation_id": w.ids["consultation_id"]},
    "POST api.transfer_consultation": lambda w: {"consultation_id": w.ids["consultation_id"]},
    "GET api.outcome_guidance": lambda w: {"issue": "quality", "amount": "100"},
}

# -- bodies: what the allowed user would send (so a refusal is a refusal, not bad input) ---


def png():
    return (io.BytesIO(access_world.PNG), "photo.png")


def _future(days=20) -> str:
    return (deadlines.local_date(utcnow()) + timedelta(days=days)).isoformat()


def _form(**data):
    return lambda w: {"data": data}


def _json(**data):
    return lambda w: {"json": data}


def _record_upload(w):
    with open(w.ids["record_file"], "rb") as handle:
        return {"data": {"pdf": (io.BytesIO(handle.read()), "record.pdf")}}


APPLICATION = {
    "name": "新申请企业有限公司",
    "credit_code": credit_code(900001),
    "region_code": "410105",
    "address": "郑州市",
    "contact_phone": "0371-7654321",
    "owner_name": "新老板",
    "owner_email": "new.owner@test.example",
    "owner_password": "New-pass-2026!",
    "owner_confirm": "New-pass-2026!",
    "commitment": "y",
}

BODY = {
    # the regulator
    "POST admin.body_create": _form(
        name="金水区花园路所",
        name_en="Huayuan Road station",
        kind="office",
        level="station",
        region_code="410105",
        address="花园路1号",
        phone="0371-1234567",
    ),
    "POST admin.body_active": _form(active="0"),
    "POST admin.mediator_create": _form(
        name="新调解员", email="new.mediator@test.example", password=PASSWORD, locale="zh_CN"
    ),
    "POST admin.mediator_head": _form(head="1"),
    "POST admin.body_move": lambda w: {"data": {"parent_id": str(w.ids["province_id"])}},
    "POST admin.mediator_active": _form(active="0"),
    "POST admin.mediator_move": lambda w: {"data": {"body_id": str(w.ids["erqi_id"])}},
    "POST admin.calendar_day": lambda w: {
        "data": {"day": _future(40), "kind": "holiday", "note": "测试"}
    },
    "POST admin.calendar_load": lambda w: {
        "data": {"file": (io.BytesIO(b'{"holidays": ["2027-01-01"]}'), "2027.json")}
    },
    "POST admin.enterprise_decide": _form(action="approve", reason="材料齐全"),
    "POST admin.request_act": _form(reason="需要更多时间核查"),
    "POST admin.warning_edit": _form(title="改过的提示", body="内容"),
    "POST admin.warning_publish": _form(publish="1"),
    "POST admin.warning_new": _form(title="新提示", body="内容"),
    "POST office.request_act": _form(reason="需要更多时间核查"),
    "POST admin.station_create": lambda w: {
        "data": {"name": "新服务站", "office_id": str(w.ids["erqi_id"]), "address": "二七路1号"}
    },
    "POST admin.station_active": _form(active="0"),
    "POST admin.intake_user_active": _form(active="0"),
    "POST admin.intake_user_create": lambda w: {
        "data": {
            "name": "新坐席",
            "email": "new.seat@test.example",
            "password": PASSWORD,
            "place": f"office:{w.ids['erqi_id']}",
            "locale": "zh_CN",
        }
    },
    "POST auth.claim": _form(
        **{
            "new-email": "caller.new@test.example",
            "new-password": "New-pass-2026!",
            "new-confirm": "New-pass-2026!",
            "link-submit": "1",
        }
    ),
    # accounts
    "POST auth.accept_invite": _form(password="New-pass-2026!", confirm="New-pass-2026!"),
    "POST auth.login": _form(email="other@test.example", password=PASSWORD),
    "POST auth.register": _form(
        name="新用户",
        email="new.consumer@test.example",
        phone="13700000000",
        region_code="410105",
        address="郑州",
        password="New-pass-2026!",
        confirm="New-pass-2026!",
    ),
    "POST auth.reset_request": _form(email="other@test.example"),
    "POST auth.reset": _form(password="New-pass-2026!", confirm="New-pass-2026!"),
    # the consumer
    "POST consumer.case": _form(password=PASSWORD),
    "POST consumer.escalate": _form(**{"escalate-reason": "企业不回应"}),
    "POST consumer.add_evidence": lambda w: {"data": {"ev-files": png()}},
    "POST consumer.message": _form(**{"msg-body": "请尽快处理"}),
    "POST consumer.accept_offer": _form(),
    "POST consumer.reject_offer": _form(**{"reject-counter_proposal": "全额退款"}),
    "POST consumer.performance": _form(**{"perf-status": "confirmed", "perf-note": "已收到"}),
    "POST consumer.rating": _form(**{"rate-rating": "5", "rate-comment": "满意"}),
    "POST consumer.ask_for_changes": _form(**{"changes-reasons": "金额写错了"}),
    "POST consumer.reopen": _form(**{"reopen-reason": "没有退款"}),
    "POST consumer.withdraw": _form(**{"withdraw-reason": "已和解"}),
    "POST consumer.wizard": lambda w: {
        "data": {"enterprise_id": str(w.ids["respondent_id"]), "green_channel": "y"}
    },
    "POST consumer.file_start": lambda w: {
        "data": {"enterprise_id": str(w.ids["respondent_id"]), "green_channel": "y"}
    },
    "POST requests.new": lambda w: {
        "data": {
            "enterprise_id": str(w.ids["respondent_id"]),
            "subject": "虚假宣传",
            "text": "广告与实物不符",
            "real_name": "y",
        }
    },
    # the mediator
    "POST mediation.propose": _form(**{"agr-terms": "退款600元", "agr-amount": "600.00"}),
    "POST mediation.assign": lambda w: {
        "data": {f"assign{w.case_ids['pending']}-mediator_id": str(w.ids["mediator_id"])}
    },
    "POST mediation.reassign": lambda w: {
        "data": {f"assign{w.case_ids['mediating']}-mediator_id": str(w.ids["head_id"])}
    },
    "POST mediation.post_message": _form(**{"msg-body": "请双方提交材料"}),
    "POST mediation.refuse": _form(**{"refuse-reason": "R1", "refuse-explanation": "不属管辖"}),
    "POST mediation.schedule": lambda w: {
        "data": {
            "sess-day": _future(),
            "sess-time": "10:00",
            "sess-mode": "online",
            "sess-link": "https://meeting.example.cn/j/123456",
        }
    },
    "POST mediation.suspend": _form(**{"susp-kind": "testing", "susp-reason": "送检"}),
    "POST mediation.terminate": _form(**{"term-reason": "T4", "term-explanation": "无法达成"}),
    "POST mediation.transfer": lambda w: {
        "data": {"transfer-body_id": str(w.ids["erqi_id"]), "transfer-reason": "管辖"}
    },
    "POST mediation.hand_down": lambda w: {
        "data": {
            f"down{w.case_ids['mediating']}-body_id": str(w.ids["erqi_id"]),
            f"down{w.case_ids['mediating']}-reason": "下放",
        }
    },
    # the enterprise
    "POST merchant.apply": lambda w: {"data": {**APPLICATION, "licence": png()}},
    "POST merchant.case": _form(password=PASSWORD),
    "POST merchant.decline": _form(**{"decline-reason": "不同意"}),
    "POST merchant.upload_evidence": lambda w: {"data": {"evidence-file": png()}},
    "POST merchant.post_message": _form(**{"message-body": "已安排退款"}),
    "POST merchant.make_offer": _form(
        **{"offer-remedy": "refund", "offer-amount": "900.00", "offer-terms": "退款900元"}
    ),
    "POST merchant.performance": _form(**{"performance-note": "已退款"}),
    "POST merchant.ask_for_changes": _form(**{"changes-reasons": "履行期限太短"}),
    "POST merchant.assign": lambda w: {
        "data": {"ids": [str(w.case_ids["negotiating"])], "assignee_id": str(w.ids["agent_id"])}
    },
    "POST merchant.create_token": _form(**{"token-name": "CRM"}),
    "POST merchant.create_webhook": _form(**{"webhook-url": "https://crm.example.com/hook"}),
    "POST merchant.invite": _form(name="新客服", email="new.agent@test.example"),
    # public
    "POST public.verify_file": _record_upload,
    "POST public.verify_upload": _record_upload,
    # the API
    "POST api.create_token": _json(email="other@test.example", password=PASSWORD),
    "POST api.register_consumer": _json(
        email="api.consumer@test.example", password="New-pass-2026!", name="接口用户"
    ),
    "POST api.apply_enterprise": _json(
        name="接口申请企业有限公司",
        credit_code=credit_code(900002),
        region_code="410105",
        address="郑州市",
        contact_phone="0371-7654321",
        owner={"email": "api.owner@test.example", "password": "New-pass-2026!", "name": "老板"},
    ),
    "POST api.file_complaint": lambda w: {
        "json": complaint_data(None, enterprise_id=w.ids["respondent_id"])
    },
    "POST api.propose_agreement": _json(terms="退款600元", amount="600.00"),
    "POST api.assign_case": lambda w: {"json": {"mediator_id": w.ids["mediator_id"]}},
    "POST api.upload_evidence": lambda w: {"data": {"file": png()}},
    "POST api.post_message": _json(body="请尽快处理"),
    "POST api.make_offer": _json(remedy="refund", amount="900.00", terms="退款900元"),
    "POST api.reject_offer": _json(counter_proposal="全额退款"),
    "POST api.report_performance": _json(status="confirmed"),
    "POST api.rate_complaint": _json(rating=5),
    "POST api.ask_for_changes": _json(reasons="金额写错了"),
    "POST api.reopen_complaint": _json(reason="没有退款"),
    "POST api.refuse_case": _json(reason="R1", explanation="不属管辖"),
    "POST api.suspend_case": _json(reason="送检"),
    "POST api.terminate_case": _json(reason="T4"),
    "POST api.transfer_case": lambda w: {"json": {"body_id": w.ids["erqi_id"], "reason": "管辖"}},
    "POST api.create_integration_token": _json(name="CRM"),
    "POST api.suspend_enterprise": _json(reason="多次逾期不处理投诉"),
    "POST api.exit_enterprise": _json(reason="主动退出"),
    "POST api.create_webhook": _json(url="https://crm.example.com/hook"),
    "POST api.start_joint": lambda w: {
        "json": {
            "enterprise_id": w.ids["respondent_id"],
            "issue": "prepaid_card",
            "subject": "健身卡",
            "facts": "健身房关门",
        }
    },
    "POST api.join_joint": _json(
        purchase_date="2026-09-01",
        amount="600",
        claimed_amount="600",
        requests=["refund"],
        facts="健身房关门",
    ),
    "POST api.leave_joint": _json(reason="已退款"),
    "POST api.elect_representatives": lambda w: {
        "json": {"member_ids": [w.ids["joint_member_id"]]}
    },
    "POST api.offer_joint": _json(remedy="refund", terms="退款一半", share_percent=50),
    "POST api.decline_joint": _json(reason="不同意"),
    "POST api.propose_joint_agreement": lambda w: {
        "json": {
            "terms": "退款",
            "amounts": [{"complaint_id": w.ids["joint_case_id"], "amount": "300"}],
        }
    },
    "POST consumer.joint_new": lambda w: {
        "data": {
            "enterprise_id": str(w.ids["respondent_id"]),
            "issue": "prepaid_card",
            "subject": "健身卡",
            "facts": "健身房关门",
            "green_channel": "y",
        }
    },
    "POST consumer.joint_join": _form(
        purchase_date="2026-09-01",
        amount="600",
        claimed_amount="600",
        requests="refund",
        facts="关门",
    ),
    "POST consumer.joint_elect": lambda w: {"data": {"member_ids": str(w.ids["joint_member_id"])}},
    "POST merchant.joint_offer": _form(
        **{
            "joint-remedy": "refund",
            "joint-mode": "share",
            "joint-share_percent": "50",
            "joint-terms": "退一半",
        }
    ),
    "POST merchant.joint_decline": _form(**{"decline-reason": "不同意"}),
    "POST merchant.joint_sign": _form(password=PASSWORD),
    "POST mediation.joint_agreement": _form(**{"jagr-terms": "退一半"}),
}

# -- running the matrix -----------------------------------------------------------------


def _rules(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield f"{method} {rule.endpoint}", method, rule


def _values(w, key, rule) -> dict:
    case = CASE.get(key, "mediating")
    ids = dict(w.ids)
    ids["complaint_id"] = ids["case_id"] = w.case_ids[case]
    if case == "negotiating":
        ids["offer_id"] = ids["open_offer_id"]
    values = {}
    for arg in rule.arguments:
        if arg in ids:
            values[arg] = ids[arg]
        elif arg == "token":
            values[arg] = ids["invite_token"] if "invite" in rule.rule else ids["reset_token"]
    values.update(PARAMS.get(key, lambda w: {})(w))
    missing = set(rule.arguments) - set(values)
    assert not missing, f"{key}: no value for {missing} (add it to PARAMS)"
    return values


def _nowhere(values: dict) -> dict:
    return {k: (NOWHERE if isinstance(v, int) else v) for k, v in values.items()}


def _leaks(role: str, key: str, text: str) -> list[str]:
    s = access_world
    stranger = (s.SECRET_NAME, s.SECRET_PHONE, s.SECRET_ADDRESS, s.SECRET_FACTS, s.SECRET_REQUEST)
    never = {
        "anonymous": stranger,
        "other_consumer": stranger,
        "other_agent": stranger,
        "other_mediator": stranger,
        # The regulator sees cases, not the consumer's contact details (can_see_contact).
        "admin": (s.SECRET_PHONE, s.SECRET_ADDRESS),
        "party_consumer": (s.OTHER_NAME, s.OTHER_PHONE),
        # Enterprises never see a report about them (disputes.requests.can_view).
        "respondent_agent": (s.OTHER_NAME, s.OTHER_PHONE, s.SECRET_REQUEST),
        "respondent_owner": (s.OTHER_NAME, s.OTHER_PHONE, s.SECRET_REQUEST),
        "competent_mediator": (s.OTHER_NAME, s.OTHER_PHONE),
        "competent_head": (s.OTHER_NAME, s.OTHER_PHONE),
    }[role]
    if key == "GET admin.request_detail" and role == "admin":
        # The regulator handles the consumer's (real-name) report: it answers them.
        never = ()
    if role not in ("competent_mediator", "competent_head"):
        never += (s.SECRET_NOTE,)  # a mediator's private note
    never += (s.SECRET_WEBHOOK,)  # shown once, when the endpoint is registered
    return [secret for secret in never if secret in text]


class Matrix:
    """The world (as plain ids: its objects belong to the session that built them), a token
    per user, and every row of the database as built."""

    def __init__(self, app, conn):
        self.app, self.conn = app, conn
        with app.app_context():
            self.w = access_world.build()
            for user in db.session.scalars(sa.select(User)):
                user.set_password(PASSWORD)  # a cheap hash (fast_passwords)
            self.w.tokens = {}
            for role, user in self.w.users.items():
                if user is not None:
                    self.w.tokens[role], _ = auth_ops.issue_token(user, ttl_hours=None)
            db.session.commit()
            self.baseline = access_world.fingerprint()
            # Files are not rolled back with the database: keep them to put back.
            folders = (app.config["UPLOAD_DIR"], app.config["RECORD_DIR"])
            self.files = {p: p.read_bytes() for f in folders for p in Path(f).rglob("*.*")}
        self.writes = []
        self.calls = 0
        self.fingerprints = 0
        self.seen = set()

        @sa.event.listens_for(conn, "before_cursor_execute")
        def _watch(_conn, _cursor, statement, _params, _context, _many):
            head = statement.lstrip()[:6].upper()
            if head in ("INSERT", "UPDATE", "DELETE") and "api_token" not in statement[:40]:
                self.writes.append(statement[:60])

    def call(self, key, method, rule, role, values):
        """Answer (code, text, wrote) for one call, undone afterwards."""
        api = rule.rule.startswith("/api/")
        user_id = self.w.user_ids[role]
        with self.app.test_request_context():
            url = url_for(rule.endpoint, **values)
        client = self.app.test_client()
        headers = {}
        if api and user_id is not None:
            headers["Authorization"] = f"Bearer {self.w.tokens[role]}"
        elif user_id is not None:
            browser_session(client, user_id, self.w.sessions[role])
        kwargs = BODY[key](self.w) if key in BODY and method != "GET" else {}
        with undone(self.conn):
            self.writes.clear()
            response = client.open(url, method=method, headers=headers, **kwargs)
            response.close()
            self.calls += 1
            flashes = ()
            if not api and 300 <= response.status_code < 400:
                with client.session_transaction() as session:
                    flashes = tuple(session.get("_flashes", ()))
            code = classify(response, api, flashes)
            changed = []
            if self.writes:
                for path, data in self.files.items():
                    if not path.exists():
                        path.write_bytes(data)
                self.fingerprints += 1
                with self.app.app_context():
                    changed = access_world.changes(self.baseline, access_world.fingerprint())
            text = text_of(response)
        invalidate_overrides()  # a calendar change was undone: forget what was cached
        return code, text, changed

    def check(self, key, method, rule, expected: dict) -> list[str]:
        problems = []
        values = _values(self.w, key, rule)
        observed = {}
        for role in COLUMNS:
            code, text, changed = self.call(key, method, rule, role, values)
            observed[role] = code
            if code != expected.get(role):
                problems.append(f"{key} as {role}: expected {expected.get(role)}, got {code}")
            if code != "ok" and changed:
                problems.append(f"{key} as {role}: refused ({code}) but wrote {changed}")
            for secret in SECRETS:
                if secret in text:
                    self.seen.add((key, role, secret))
            leaks = _leaks(role, key, text)
            if leaks:
                problems.append(f"{key} as {role}: LEAK {leaks}")
            ids = any(isinstance(v, int) for v in values.values())
            if role in STRANGERS and code != "ok" and ids and key not in PUBLISHED_IDS:
                again, _text, changed = self.call(key, method, rule, role, _nowhere(values))
                if again != code:
                    problems.append(
                        f"{key} as {role}: {code} for the real ids but {again} for missing"
                        " ones (an oracle)"
                    )
                if again != "ok" and changed:
                    problems.append(f"{key} as {role} (missing ids): wrote {changed}")
        self.observed = observed
        return problems


S = access_world
SECRETS = (
    S.SECRET_NAME,
    S.SECRET_PHONE,
    S.SECRET_ADDRESS,
    S.SECRET_NOTE,
    S.SECRET_FACTS,
    S.SECRET_REQUEST,
    S.SECRET_WEBHOOK,
    S.OTHER_NAME,
    S.OTHER_PHONE,
)
# The leak check can see: these pages do show these secrets to these users.
SHOWN = {
    ("GET consumer.case", "party_consumer", S.SECRET_FACTS),
    ("GET merchant.case", "respondent_agent", S.SECRET_PHONE),
    ("GET merchant.case", "respondent_agent", S.SECRET_NAME),
    ("GET mediation.workspace", "competent_mediator", S.SECRET_NOTE),
    ("GET mediation.workspace", "competent_mediator", S.SECRET_ADDRESS),
    ("GET api.show_complaint", "admin", S.SECRET_NAME),
    ("GET api.show_complaint", "respondent_owner", S.SECRET_PHONE),
    ("GET admin.request_detail", "admin", S.SECRET_REQUEST),
    ("GET office.request_detail", "competent_mediator", S.SECRET_REQUEST),
}


def _row(key: str, observed: dict) -> str:
    codes = "".join(f"{observed[c]:<4}" for c in COLUMNS).rstrip()
    return f'    {chr(34) + key + chr(34) + ":":<38}"{codes}",'


@pytest.mark.usefixtures("fast_passwords", "stand_in_records")
def test_every_route_has_a_row_and_every_cell_holds(app):
    keys = [key for key, _m, _r in _rules(app)]
    missing = [key for key in keys if key not in TABLE]
    stale = sorted(set(TABLE) - set(keys))
    printing = bool(os.environ.get("ODR_MATRIX_PRINT"))
    problems = []
    with world_transaction(app) as conn:
        matrix = Matrix(app, conn)
        for key, method, rule in _rules(app):
            if key not in TABLE and not printing:
                continue
            expected = dict(zip(COLUMNS, TABLE.get(key, "").split(), strict=False))
            problems += matrix.check(key, method, rule, expected)
            if printing:
                print(_row(key, matrix.observed))
        calls = matrix.calls
        seen = matrix.seen
    print(f"access matrix: {len(keys)} routes x {len(COLUMNS)} users, {calls} calls")
    if printing:
        print("\n".join(p for p in problems if "expected None" not in p))
    assert not missing, "routes without a row in TABLE:\n" + "\n".join(missing)
    assert not stale, "rows for routes that no longer exist:\n" + "\n".join(stale)
    assert not problems, f"{len(problems)} cells differ:\n" + "\n".join(problems)
    assert seen >= SHOWN, f"the leak check is blind: not seen {SHOWN - seen}"
    assert all(len(row.split()) == len(COLUMNS) for row in TABLE.values())


def test_the_api_never_reads_the_session_cookie(app, world, client):
    """A signed-in browser session is not an API credential: without a token, 401."""
    browser_session(client, world.consumer.id)
    assert client.get("/consumer/cases").status_code == 200
    answer = client.get("/api/v1/complaints")
    assert answer.status_code == 401
    assert answer.get_json()["error"]["code"] == "unauthorized"


# Each action of the API and the web routes that do the same thing, for the same users.
# The matrix above drives every one of them as every user; here the users who succeed must
# be the same on both channels (a web route lives in its role's package, so one API action
# may be several web routes).
SAME_ACTION = {
    "POST api.file_complaint": ("POST consumer.file_start",),
    "POST api.post_message": (
        "POST consumer.message",
        "POST merchant.post_message",
        "POST mediation.post_message",
    ),
    "POST api.make_offer": ("POST merchant.make_offer",),
    "POST api.accept_offer": ("POST consumer.accept_offer",),
    "POST api.reject_offer": ("POST consumer.reject_offer",),
    "POST api.decline_complaint": ("POST merchant.decline",),
    "POST api.escalate_complaint": ("POST consumer.escalate",),
    # (api.reopen_complaint and consumer.reopen are not compared: the world has no breached
    # agreement, so both refuse the party consumer, the web with a message, the API a 409.)
    "POST api.ask_for_changes": ("POST consumer.ask_for_changes", "POST merchant.ask_for_changes"),
    "POST api.withdraw_complaint": ("POST consumer.withdraw",),
    "POST api.rate_complaint": ("POST consumer.rating",),
    "POST api.report_performance": ("POST consumer.performance", "POST merchant.performance"),
    "POST api.sign_agreement": ("POST consumer.case", "POST merchant.case"),
    "POST api.accept_case": ("POST mediation.accept",),
    "POST api.refuse_case": ("POST mediation.refuse",),
    "POST api.transfer_case": ("POST mediation.transfer",),
    "POST api.suspend_case": ("POST mediation.suspend",),
    "POST api.resume_case": ("POST mediation.resume",),
    "POST api.terminate_case": ("POST mediation.terminate",),
    "POST api.propose_agreement": ("POST mediation.propose",),
    "POST api.assign_case": ("POST mediation.assign",),
    "GET api.record_pdf": (
        "GET consumer.record",
        "GET merchant.record_pdf",
        "GET mediation.record",
    ),
    "POST api.create_integration_token": ("POST merchant.create_token",),
    "POST api.create_webhook": ("POST merchant.create_webhook",),
    "POST api.approve_enterprise": ("POST admin.enterprise_decide",),
    # The mediator adds evidence through the API only (no upload form on the workspace).
    "POST api.upload_evidence": ("POST consumer.add_evidence", "POST merchant.upload_evidence"),
}
# Users an API action serves beyond its web routes, each with its reason.
API_ONLY = {
    "POST api.upload_evidence": {"competent_mediator", "competent_head"},
}


def _succeeding(key: str) -> set[str]:
    cells = dict(zip(COLUMNS, TABLE[key].split(), strict=True))
    return {user for user, cell in cells.items() if cell in ("ok", "msg")}


def test_the_web_and_the_api_let_the_same_users_act():
    assert set(SAME_ACTION) <= set(TABLE)
    differ = []
    for api_key, web_keys in SAME_ACTION.items():
        assert set(web_keys) <= set(TABLE), web_keys
        web = set().union(*(_succeeding(key) for key in web_keys))
        api = _succeeding(api_key) - API_ONLY.get(api_key, set())
        if web != api:
            differ.append(f"{api_key}: API {sorted(api)} / web {sorted(web)}")
    assert not differ, "\n".join(differ)
