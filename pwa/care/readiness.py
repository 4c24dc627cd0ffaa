""" "Ready for your session?" answers, summed up for the clinic console.

A phone records each readiness answer as a tick on the session's day whose
item is the question's answer id (`protocol.READINESS_PREFIX` + id) and whose
`done` means "yes".  This module turns the answers for one planned session
into ready / needs a word / not answered, and lists the questions answered
"yes".  Pure: no Flask, no storage.
"""

from __future__ import annotations

READY = "ready"
NEEDS_A_WORD = "needs-a-word"
NOT_ANSWERED = "not-answered"
LABELS = {READY: "Ready", NEEDS_A_WORD: "Needs a word", NOT_ANSWERED: "Not answered"}


def session_readiness(session_day: str, ticks: dict, schedule: dict) -> dict | None:
    """{"state", "label", "flagged", "answered", "total"} for the session on `session_day`.

    `ticks` maps (day, item) to the latest tick event.  None when the schedule has no
    readiness questions (a protocol without them asks nothing).
    """
    questions = schedule.get("readiness", [])
    if not questions:
        return None
    answers = {
        q["answer_id"]: ticks[(session_day, q["answer_id"])]["done"]
        for q in questions
        if (session_day, q["answer_id"]) in ticks
    }
    flagged = [q["question"] for q in questions if answers.get(q["answer_id"]) is True]
    if flagged:
        state = NEEDS_A_WORD
    elif len(answers) == len(questions):
        state = READY
    else:
        state = NOT_ANSWERED
    return {
        "state": state,
        "label": LABELS[state],
        "flagged": flagged,
        "answered": len(answers),
        "total": len(questions),
    }
