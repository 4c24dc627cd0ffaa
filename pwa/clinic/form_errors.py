"""Why a console form was refused, tied to the field it is about.

A Refusal names the fields it concerns by their HTML ids; the page shows its message just
above the first of them, marks each `aria-invalid="true"` with `aria-describedby` pointing
at the message, and gives the first one `autofocus`, so the browser scrolls to it and a
screen reader reads the message with the field (templates/console/_form.html).  A refusal
about no one field shows at the top of its form (`form`), which then takes the focus.

The plan checks (care/plans.py, care/merge.py) name fields as the API does
("plan.next_session: ..."); here those names become the labels a practitioner sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

# (the checks' name for a field, the form's field id, the label the practitioner sees),
# the more precise names first.
NEW_CLIENT_FIELDS = (
    ("nickname", "nickname", "Nickname"),
    ("plan.sessions[0].day", "last-session", "Date of this session"),
    ("plan.sessions", "session-number", "Which session is it"),
    ("plan.next_session", "next-session", "Next session"),
    ("plan.planned_sessions", "planned-sessions", "Sessions planned in all"),
    ("plan.skin_type", "skin-type", "Skin type"),
    ("plan.pih_history", "pih-history", "History of PIH"),
    ("plan.mode", "pih-risk-mode", "Protocol"),
    ("plan.protocol", "protocol", "Protocol"),
)
SESSION_FIELDS = (
    ("events[0].day", "day", "Date"),
    ("events[0].time", "time", "Time"),
    ("events[0].status", "status", "Status"),
)


@dataclass(frozen=True)
class Refusal:
    """A refused form's message, the ids of the fields it is about, and which form it is
    (for a refusal about no one field).  `typed` holds what the form sent, to show again."""

    message: str
    fields: tuple[str, ...] = ()
    form: str = ""
    typed: dict = field(default_factory=dict)

    @property
    def message_id(self) -> str:
        return f"{self.fields[0] if self.fields else self.form}-error"


def new_client(message: str, form_fields: set[str]) -> Refusal:
    """A refused new-client form: the plan check's message under the field's own label.
    `form_fields` are the ids the form shows (the protocol choice only with several)."""
    return _tied(message, NEW_CLIENT_FIELDS, "", form_fields, "new-client")


def session_edit(message: str, prefix: str, typed: dict) -> Refusal:
    """A refused session form; its fields' ids start with `prefix` ("new", "s-<session>")."""
    refusal = _tied(message, SESSION_FIELDS, f"{prefix}-", None, prefix)
    return Refusal(refusal.message, refusal.fields, prefix, typed)


def _tied(
    message: str, known: tuple, id_prefix: str, form_fields: set[str] | None, form: str
) -> Refusal:
    for name, field_id, label in known:
        if message == name or message.startswith((f"{name}:", f"{name}.", f"{name}[")):
            reason = message.split(": ", 1)[1] if ": " in message else message
            worded = f"{label}: {reason}"
            if form_fields is None or field_id in form_fields:
                return Refusal(worded, (id_prefix + field_id,), form)
            return Refusal(worded, (), form)
    return Refusal(_sentence(message), (), form)


def _sentence(message: str) -> str:
    """ "events: a plan may have ..." as a person reads it: "A plan may have ..."."""
    name, _, reason = message.partition(": ")
    if reason and " " not in name:
        message = reason
    return message[:1].upper() + message[1:]
