"""The default follow-up plan, used for every severity until a supervisor
edits it: day 1, day 7 and day 30. Warm and specific: each names what went
wrong, what we did, and asks how we are doing."""

INTRO = "Dear {{ customer.name }},\n\n"
WHAT_HAPPENED = (
    "{% if ticket.our_part %}You told us about a problem ({{ ticket.subject }}), and it was "
    "our doing: {{ ticket.our_part }}\n\n{% endif %}"
    "{% if commitment %}We promised: {{ commitment.promise }}\n"
    "{% if commitment.kept %}We kept that promise on time.{% else %}We kept it, later than we "
    "said, and we are sorry you had to wait.{% endif %}\n\n{% endif %}"
    "{% if restitutions %}To make it right we gave you {% for r in restitutions %}"
    "a {{ r.get_kind_display|lower }} of {{ r.amount }} {{ r.currency }}"
    "{% if not forloop.last %} and {% endif %}{% endfor %}.\n\n{% endif %}"
)
FIXES = (
    "{% if process_fixes %}We have also changed how we work, so that it does not happen "
    "again:{% for fix in process_fixes %}\n- {{ fix.failsafe_change }} (done on {{ fix.done_on }})"
    "{% endfor %}\n\n{% endif %}"
)
DEFAULT_STEPS = (
    (
        1,
        "How are things since we put it right?",
        INTRO
        + WHAT_HAPPENED
        + "Is everything working as it should now? If anything is still not right, reply to "
        "this email and it comes straight to the person who helped you.",
    ),
    (
        7,
        "One week on: how are we doing?",
        INTRO
        + "A week ago we put right what went wrong with {{ ticket.subject }}. We wanted to check "
        "in, because one good answer does not undo a bad experience.\n\n"
        + FIXES
        + "How has it been since? A single click below tells us, and every answer is read.",
    ),
    (
        30,
        "A month later: thank you for staying with us",
        INTRO
        + "It has been a month since we let you down with {{ ticket.subject }}. Thank you for "
        "giving us the chance to make it right.\n\n"
        + FIXES
        + "If you have a moment, tell us how much you trust us now. And if there is anything "
        "we can still do, reply to this email.",
    ),
)

# A resolved question gets one check-in, the next morning. It is what gives
# the trust dashboard its baseline: the ratings of customers who never had a
# mishap, against which the recovery paradox index measures the recovered
# ones. Fixed in code, not a supervisor's plan: plans are chosen by a mishap's
# severity, and a question has no rebuilding period to plan.
QUESTION_STEPS = (
    (
        1,
        "How did we do?",
        INTRO
        + "Yesterday we answered your question about {{ ticket.subject }}. We hope it helped.\n\n"
        "How did we do? A single click below tells us, and every answer is read. If anything "
        "is still unclear, just reply to this email.",
    ),
)
