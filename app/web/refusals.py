"""The domain's refusals in the page's language.

The domain packages speak English to the API (a problem's `detail`) and know nothing of Flask; a page must not
show that English on a Chinese page. Each refusal a page can meet is matched here by its message and told
from the catalogue, with the enum values inside it in the page's words. One that no rule knows is told by its
kind (never in the domain's English), so a new message cannot leak untranslated.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import ngettext

from kernel.errors import DomainError
from app.web import now, words
from app.web.words import word
from incidents.conversation.messages import MAX_BODY
from incidents.reopening import MAX_REASON

TOTP_STEP_SECONDS = 30
MIB = 1024 * 1024
Groups = dict[str, str]
Render = Callable[[Groups, DomainError], str]


def _status(value: str) -> str:
    return word(words.STAFF_STATUS, value)


def _machine_word(machine: str, value: str) -> str:
    return word(words.CONTAINMENT if machine == "containment" else words.STAFF_STATUS, value)


def seconds_to_next_step(at: datetime) -> int:
    """Seconds until an authenticator app shows its next code (codes change every 30 s, on the clock)."""
    return TOTP_STEP_SECONDS - int(at.timestamp()) % TOTP_STEP_SECONDS


def told_by_slug(error: DomainError, *, factor: str | None, at: datetime) -> str | None:
    """A refusal whose meaning is its kind and numbers (attempts left, how long to wait), whatever its text says;
    None when its kind alone does not tell it (the rules then read its message)."""
    extra = error.extra or {}
    retry = extra.get("retry_after")
    if error.slug == "wrong-code":
        return _("That code is not correct. Attempts left: %(count)d.", count=extra.get("remaining_attempts", 0))
    if error.slug == "code-already-used" and factor == "sms":
        return _("That code has already been used. Ask for a new code by text message.")
    if error.slug == "code-already-used":  # an authenticator's code (the console's step-up, the owner's TOTP)
        return ngettext("That code has already been used. Your authenticator app shows a new code in about "
                        "%(num)d second: enter that one.",
                        "That code has already been used. Your authenticator app shows a new code in about "
                        "%(num)d seconds: enter that one.", seconds_to_next_step(at))
    if error.slug == "too-many-attempts" and retry:
        minutes = max(1, -(-int(retry) // 60))
        return ngettext("Too many wrong codes. You can enter a new code in %(num)d minute (at %(time)s).",
                        "Too many wrong codes. You can enter a new code in %(num)d minutes (at %(time)s).",
                        minutes, time=(at + timedelta(seconds=int(retry))).strftime("%H:%M UTC"))
    if error.slug == "rate-limited" and retry:
        return ngettext("A new code cannot be sent yet. Try again in %(num)d second.",
                        "A new code cannot be sent yet. Try again in %(num)d seconds.", int(retry))
    return None


# Kinds `told_by_slug` always tells, whatever their message: the rules need not know their messages.
ALWAYS_TOLD_BY_SLUG = frozenset({"wrong-code", "code-already-used"})


def _number(error: DomainError, key: str, written: str) -> int:
    """A limit the refusal carries (its extra, else the number in its message)."""
    value = (error.extra or {}).get(key, written)
    return int(value) if str(value).isdigit() else 0


def _checklist_missing(error: DomainError) -> str:
    return "、".join(word(words.CHECKLIST_ITEM, item) for item in (error.extra or {}).get("missing", [])) or "—"


_NOT_FOUND = {"incident": lambda: _("There is no such case."), "staff member": lambda: _("There is no such staff member."),
              "unfreeze request": lambda: _("There is no such unfreeze request."),
              "verification": lambda: _("There is no such verification."),
              "attachment": lambda: _("There is no such file in this case.")}

RULES: list[tuple[str, Render]] = [
    # The case and its two state machines.
    (r"(?P<machine>\w+) cannot (?:go from|open as) (?P<current>\w+) (?:to|via \w+ →) (?P<to>\w+)",
     lambda g, e: _("This step is not possible now: the case is “%(current)s” and cannot become “%(to)s”.",
                    current=_machine_word(g["machine"], g["current"]), to=_machine_word(g["machine"], g["to"]))),
    (r"an unfreeze request cannot go from (?P<current>\w+) to (?P<to>\w+)",
     lambda g, e: _("This step is not possible now: the unfreeze request is “%(current)s” and cannot become "
                    "“%(to)s”.", current=word(words.UNFREEZE_STATUS, g["current"]),
                    to=word(words.UNFREEZE_STATUS, g["to"]))),
    (r"the incident is (?P<status>\w+); only a closed case can be reopened",
     lambda g, e: _("The case is “%(status)s”: only a closed case can be reopened.", status=_status(g["status"]))),
    (r"reason: must not be blank", lambda g, e: _("Say why the case is reopened.")),
    (r"reason: is longer than \S+ characters",
     lambda g, e: _("Write the reason in at most %(count)d characters.", count=MAX_REASON)),
    (r"the incident is no longer closed; it was reopened already",
     lambda g, e: _("The case was reopened already (perhaps by a second click); nothing more was done.")),
    (r"the incident is (?P<status>\w+)",
     lambda g, e: _("The case is “%(status)s”, so this step is no longer possible.", status=_status(g["status"]))),
    (r"a newer case is open for this account; (?:work|write) there",
     lambda g, e: _("A newer case is open for this account: continue there.")),
    (r"the open incident of account (?P<account>.+) kept changing under concurrent reports; send the report again",
     lambda g, e: _("The case of account %(account)s changed while this report was filed. Nothing was stored: send "
                    "it again.", account=g["account"])),
    (r"the account is already (?P<containment>\w+)",
     lambda g, e: _("The account is already “%(state)s”: no new freeze was asked for.",
                    state=word(words.CONTAINMENT, g["containment"]))),
    (r"the account is not frozen \(containment is (?P<containment>\w+)\)",
     lambda g, e: _("The account is not frozen (it is “%(state)s”), so no unfreeze can be asked for.",
                    state=word(words.CONTAINMENT, g["containment"]))),
    (r"the exchange has not sent the account's details yet; try again shortly",
     lambda g, e: _("The exchange cannot be reached right now, so the account's details cannot be read. Try again "
                    "in a minute.")),
    (r"the account has no authenticator on record",
     lambda g, e: _("The exchange has no authenticator on record for this account, so this check cannot be done. "
                    "Write to us in the case conversation and a risk officer checks your identity by hand.")),
    # The unfreeze review.
    (r"the owner's verification has not passed; verify first",
     lambda g, e: _("The owner's identity verification has not passed yet: it must pass first.")),
    (r"an unfreeze request is already open for this incident",
     lambda g, e: _("An unfreeze request is already open for this case.")),
    (r"no checklist item (?P<item>.+)", lambda g, e: _("There is no checklist item “%(item)s”.", item=g["item"])),
    (r"(?P<item>\w+) is settled by the owner's verification \(or an officer's manual review\) only",
     lambda g, e: _("“%(item)s” is settled only by the owner's verification or an officer's manual identity review.",
                    item=word(words.CHECKLIST_ITEM, g["item"]))),
    (r"note: ticking (?P<item>\w+) by hand needs the evidence you checked .*",
     lambda g, e: _("To tick “%(item)s” by hand, write the evidence you checked (the exchange's own security "
                    "events tick it by themselves).", item=word(words.CHECKLIST_ITEM, g["item"]))),
    (r"the request is (?P<status>\w+); it takes no more decisions",
     lambda g, e: _("The unfreeze request is “%(status)s”: it takes no more decisions.",
                    status=word(words.UNFREEZE_STATUS, g["status"]))),
    (r"the request is (?P<status>\w+)",
     lambda g, e: _("The unfreeze request is “%(status)s”: its checklist can no longer change.",
                    status=word(words.UNFREEZE_STATUS, g["status"]))),
    (r"decision: must be 'approve' or 'reject'", lambda g, e: _("Choose to approve or to reject.")),
    (r"the checklist is not complete",
     lambda g, e: _("The checklist is not complete yet. Still open: %(items)s.", items=_checklist_missing(e))),
    (r"only risk officers decide unfreezes", lambda g, e: _("Only risk officers decide unfreezes.")),
    (r"you have already decided this request.*",
     lambda g, e: _("You have decided this request already. A further approval must come from another risk "
                    "officer.")),
    (r"you raised this request, so you may not approve it",
     lambda g, e: _("You raised this request, so you may reject it but not approve it.")),
    (r"you worked this case as its agent, so you may not approve its unfreeze",
     lambda g, e: _("You worked this case as its agent, so you may reject the unfreeze but not approve it. Another "
                    "risk officer approves.")),
    (r"this verification does not need a manual review",
     lambda g, e: _("This verification does not wait for a manual identity review.")),
    # Verification.
    (r"the verification has expired; start a new one", lambda g, e: _("The verification has expired: start a new one.")),
    (r"the verification is (?P<status>\w+)|a (?P<from>\w+) verification cannot become \w+",
     lambda g, e: _("The verification is “%(status)s”, so this step is no longer possible. Start a new verification "
                    "if you need one.", status=word(words.VERIFICATION_STATUS, g["status"] or g["from"]))),
    (r"this verification has no (?P<kind>\w+) factor",
     lambda g, e: _("This verification does not ask for a %(factor)s.", factor=word(words.FACTOR_KIND, g["kind"]))),
    (r"the SMS factor of this verification has already passed",
     lambda g, e: _("The text message code was accepted already: nothing more to do for it.")),
    (r"no code has been sent for this verification", lambda g, e: _("Ask for a text message code first.")),
    (r"no authenticator is enrolled for this staff member",
     lambda g, e: _("You have no authenticator enrolled: ask an administrator to enrol one.")),
    (r"no authenticator state for this owner", lambda g, e: _("No authenticator is on record for this owner.")),
    (r"owner_kind: .*", lambda g, e: _("This authenticator belongs to neither an account nor a staff member.")),
    # A wrong or used code, and a lock or wait that says how long, are told by `told_by_slug`; these are the locks
    # and waits that do not say how long.
    (r"This code has expired; ask for a new one\.", lambda g, e: _("That code has expired: ask for a new one.")),
    (r"Too many attempts; the authenticator is locked\.|Too many failed sign-ins; try again later\.",
     lambda g, e: _("Too many wrong codes: the authenticator is locked for a while. Try again later.")),
    (r"Too many wrong codes(?:; no new code can be sent)?\.|Too many attempts\.",  # an SMS code, on the owner's page
     lambda g, e: _("Too many wrong codes: this code is blocked. Start a new verification below to get a new "
                    "code.")),
    (r"Too many wrong authenticator codes were entered for this account\. .*",
     lambda g, e: _("Too many wrong authenticator codes were entered for this account. Enter the text message code "
                    "first, then the authenticator code.")),
    (r"A new code cannot be sent yet\.", lambda g, e: _("A new code cannot be sent yet. Try again in a minute.")),
    # Lists and things that are not there.
    (r"cursor: is not a cursor this list gave out",
     lambda g, e: _("This page of the list no longer exists: start again from the first page.")),
    (r"no such (?P<what>incident|staff member|unfreeze request|verification|attachment)|(?P<what2>verification) not "
     r"found", lambda g, e: _NOT_FOUND[g["what"] or g["what2"]]()),
    (r"this needs the role .+", lambda g, e: _("Your role may not do this.")),
    # The conversation and its files.
    (r"the case is closed(?:; file a new report)?",
     lambda g, e: _("This case is closed to new messages and files. File a new report if you need help.")),
    (r"the case was resolved more than 7 days ago; file a new report",
     lambda g, e: _("This case was resolved more than 7 days ago. File a new report if you need help.")),
    (r"body: must not be empty|body: is longer than \S+ characters",
     lambda g, e: _("Write a message of 1 to %(count)d characters.", count=MAX_BODY)),
    (r"(?P<field>\w+): is for staff only", lambda g, e: _("Only staff may set this.")),
    (r"to: is neither a report of this case nor .*|to: name the report whose thread you answer.*",
     lambda g, e: _("Choose whose thread you answer.")),
    (r"attachment_ids: .*", lambda g, e: _("That file cannot be attached to this message.")),
    (r"the case already holds (?P<count>\S+) files",
     lambda g, e: _("This case already holds the most files it can take (%(count)d).",
                    count=_number(e, "max_per_incident", g["count"]))),
    (r"file: (?:has no file name|file name .*)",
     lambda g, e: _("Rename the file: its name is too long or contains a path or control characters.")),
    (r"file: is empty", lambda g, e: _("The file is empty.")),
    (r"file: (?:is a damaged or truncated (?:image|PDF)|the image has more than \S+ pixels)",
     lambda g, e: _("The file is damaged or cut off. Send it again.")),
    (r"the file is larger than (?P<size>\S+) bytes",
     lambda g, e: _("The file is larger than %(size)d MiB.", size=_number(e, "max_bytes", g["size"]) // MIB)),
    (r"the file is .+; accepted are .+",
     lambda g, e: _("This type of file is not accepted. Send a PNG, JPEG or WebP picture, a PDF or a plain-text "
                    "file.")),
    # Traces and letters.
    (r"chain: must be a chain name such as ethereum or bitcoin", lambda g, e: _("Choose a chain.")),
    (r"chain: no explorer configured for chain (?P<chain>\S+)|no explorer configured for chain (?P<chain2>\S+)",
     lambda g, e: _("Tracing on %(chain)s is not set up on this installation.", chain=g["chain"] or g["chain2"])),
    (r"depth: must be an integer from 0 to (?P<max>\S+)",
     lambda g, e: _("The depth must be a whole number from 0 to %(max)s.", max=g["max"])),
    (r"tx_hash: an EVM transaction hash is 0x followed by 64 hex characters",
     lambda g, e: _("An EVM transaction hash is 0x followed by 64 hex characters.")),
    (r"tx_hash: a (?P<chain>\S+) transaction id is 64 hexadecimal characters without 0x",
     lambda g, e: _("A %(chain)s transaction id is 64 hex characters without 0x.", chain=g["chain"])),
    (r"trace (?P<id>\S+) not found", lambda g, e: _("There is no such trace.")),
    (r"trace \S+ is (?P<status>\w+); letters need a finished trace|the trace is (?P<status2>\w+); a request needs "
     r"a finished trace",
     lambda g, e: _("The trace is “%(status)s”: letters and requests need a finished trace.",
                    status=word(words.TRACE_STATUS, g["status"] or g["status2"]))),
    # Handing the case on.
    (r"exchange: .+ is not a configured peer exchange", lambda g, e: _("That exchange is not a configured peer.")),
    (r"the trace belongs to no case, and the evidence is a case's",
     lambda g, e: _("This trace belongs to no case, and a freeze request carries a case's evidence.")),
    (r"addresses: the trace reached no address of (?P<exchange>.+) named .*",
     lambda g, e: _("The trace reached no address of %(exchange)s.", exchange=g["exchange"])),
    (r"no freeze request.*", lambda g, e: _("There is no such freeze request.")),
    (r"this case holds nothing for a peer", lambda g, e: _("This case holds nothing for another exchange.")),
    (r"the hold is (?P<hold>\w+) and the account (?P<containment>\w+)",
     lambda g, e: _("The hold cannot be released now (the account is “%(state)s”).",
                    state=word(words.CONTAINMENT, g["containment"]))),
    (r"callback_url: .*", lambda g, e: _("The peer's callback address is not allowed.")),
    (r"trace_id: is not a trace of this case", lambda g, e: _("Choose a trace of this case.")),
    # The owner's "this wasn't me" link.
    (r"this link is not valid", lambda g, e: _("This link is not valid.")),
    (r"this link has already been used; the account was frozen again then",
     lambda g, e: _("This link has already been used: the account was frozen again then.")),
    (r"this link has expired; report the problem from the report page",
     lambda g, e: _("This link has expired: report the problem from the report page.")),
]
_COMPILED = [(re.compile(pattern), render) for pattern, render in RULES]


def matching_rule(detail: str) -> Render | None:
    """The rule that tells this message, if one does (tests use it to prove every message has one)."""
    for pattern, render in _COMPILED:
        if pattern.fullmatch(detail):
            return render
    return None


def refusal_text(error: DomainError, *, factor: str | None = None, at: datetime | None = None) -> str:
    """The refusal in the page's language: told by its kind and numbers where those say it all, else by the rule
    for its message, else by what its kind of refusal means. `factor` ("sms" or "totp", where the page knows it)
    picks what a used code's next step is; `at` is now unless given."""
    detail = error.detail or ""
    if error.slug == "form-input":  # a page's own refusal, already in the page's language
        return detail
    said = told_by_slug(error, factor=factor, at=at or now())
    if said is not None:
        return said
    for pattern, render in _COMPILED:
        found = pattern.fullmatch(detail)
        if found:
            return render(found.groupdict(), error)
    return by_kind(error)


def by_kind(error: DomainError) -> str:
    """A refusal no rule knows, told by its HTTP meaning."""
    if error.status == 404:
        return _("What you asked for does not exist (any more).")
    if error.status == 403:
        return _("Your role may not do this.")
    if error.status == 429:
        return _("Too many attempts. Wait a minute and try again.")
    if error.status == 422:
        return _("Check what you entered and try again.")
    if error.status >= 500:
        return _("Something failed on our side. Try again in a minute.")
    return _("This step is not possible in the case's current state. Reload the page to see it.")


def sign_in_paused(error: DomainError) -> str:
    """The console's sign-in is paused: until when, where the lock says so."""
    retry = (error.extra or {}).get("retry_after")
    if not retry:
        return _("Sign-in is paused after too many failed attempts. Try again in a few minutes.")
    minutes = max(1, -(-int(retry) // 60))
    return ngettext("Sign-in is paused after too many failed attempts. Try again in %(num)d minute.",
                    "Sign-in is paused after too many failed attempts. Try again in %(num)d minutes.", minutes)
