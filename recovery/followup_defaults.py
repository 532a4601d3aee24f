"""The default follow-up plan, used for a severity until a supervisor saves
one: day 1, day 7 and day 30; and the one check-in after an answered question.

Written as the agent who helped, in a few plain sentences. They never paste
the ticket's subject into a sentence (it is the customer's words, or ours
from the inbox, and reads like a form letter), never tell our internal
account of what went wrong, and never open with a greeting: the email adds
exactly one, and the agent's name below. Whatever they state is true when
the mail goes out: the context only holds a promise once it is kept, gifts
still in force, and process fixes that are done (see recovery.services.
followup_emails.email_contexts).

The texts are Jinja2 templates (recovery/followup_templates.py), checked
like a supervisor's when saved (a test holds them to it in every language),
reading only the placeholders of recovery.followup_templates.PLACEHOLDERS.
They are marked for translation: each is resolved in the customer's
language when the follow-ups are scheduled, so a row keeps what it will say
in the language it will say it in."""

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

# Translators: the texts below are Jinja2 templates. Translate the words, and
# keep everything between {% %} and {{ }} exactly as it is.

PROMISE = _(
    "{% if commitment.kept %}We promised: {{ commitment.promise }}\n"
    "We did it on time.{% elif commitment %}We promised: {{ commitment.promise }}\n"
    "We did it, but later than we said, on {{ commitment.fulfilled_on }}. "
    "I am sorry you had to wait.{% endif %}"
)
GIFTS = _(
    "{% if restitutions %}To make up for it, we gave you {{ restitutions_listed }}.{% endif %}"
)
FIXES = _(
    "{% if process_fixes %}We have also changed how we work, so that this does not happen "
    "again:{% for fix in process_fixes %}\n- {{ fix.failsafe_change }} "
    "(done on {{ fix.done_on }}){% endfor %}{% endif %}"
)

DEFAULT_STEPS = (
    (
        1,
        _("Is everything all right now?"),
        format_lazy(
            "{}\n\n{}\n\n{}\n\n{}",
            _("Now that we have put things right, I wanted to check in."),
            PROMISE,
            GIFTS,
            _(
                "Is everything working as it should now? If it is not, just reply to this "
                "email: it comes straight to me."
            ),
        ),
    ),
    (
        7,
        _("A week on: how are things?"),
        format_lazy(
            "{}\n\n{}\n\n{}",
            _("It has been a week, and I wanted to see how you are getting on."),
            FIXES,
            _(
                "If you have a moment, one click below tells me how we are doing. I read "
                "every answer."
            ),
        ),
    ),
    (
        30,
        _("A month on: thank you"),
        format_lazy(
            "{}\n\n{}\n\n{}",
            _(
                "It has been a month since things went wrong, and I wanted to thank you for "
                "giving us the chance to put them right."
            ),
            FIXES,
            _(
                "If you have a moment, one click below tells me how we are doing. And if there "
                "is anything we can still do, just reply to this email."
            ),
        ),
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
        _("How did we do?"),
        _(
            "Yesterday we answered your question, and I hope it helped.\n\n"
            "If anything is still unclear, just reply to this email. And if you have a "
            "moment, one click below tells me how we did."
        ),
    ),
)
