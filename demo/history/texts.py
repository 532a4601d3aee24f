"""What the history's customers write and what the agents answer.

None of these subjects is one of the current demo tickets' (``demo.tickets``):
those are found again by subject, so a second seeding does not duplicate them.
"""

from typing import NamedTuple


class Question(NamedTuple):
    subject: str
    body: str
    answer: str
    queue: str


class Mishap(NamedTuple):
    subject: str
    body: str
    our_part: str
    promise: str
    resolution: str
    theme: str
    queue: str


QUESTIONS = (
    Question(
        "Delivery time to Canada",
        "How long does shipping to Toronto usually take?",
        "Orders to Canada arrive in 4 to 6 working days; you get a tracking link at dispatch.",
        "orders",
    ),
    Question(
        "Can I change my delivery address?",
        "I moved last week. Can the order I placed yesterday go to my new address?",
        "Done: the parcel has not left yet, so it now goes to your new address.",
        "orders",
    ),
    Question(
        "VAT number on invoices",
        "Could you add our VAT number to future invoices?",
        "Your VAT number is on your account now and will appear on every invoice from today.",
        "billing",
    ),
    Question(
        "Is the blue teapot back in stock?",
        "I have been waiting for the blue teapot for weeks.",
        "It is back next Tuesday. I set an alert on your account so you hear the moment it is.",
        "orders",
    ),
    Question(
        "Paying by bank transfer",
        "Can I pay by bank transfer instead of card?",
        "Yes: choose 'bank transfer' at checkout and the order ships once the payment lands.",
        "billing",
    ),
    Question(
        "Return window for sale items",
        "Can I still return something I bought in the sale?",
        "Sale items can be returned within 30 days, like everything else.",
        "orders",
    ),
    Question(
        "How do I reset my password?",
        "The reset email never seems to arrive.",
        "I sent a new reset link by hand; it can take a minute or two and may land in spam.",
        "billing",
    ),
    Question(
        "Gift card balance",
        "How much is left on my gift card?",
        "Your gift card has 37.50 left and is valid until the end of next year.",
        "billing",
    ),
    Question(
        "Do you offer student discounts?",
        "I am a student; is there any discount?",
        "Yes, 10% with a student email address; I added it to your account.",
        "billing",
    ),
    Question(
        "Care instructions for the linen shirt",
        "Can the linen shirt go in the dryer?",
        "Best not: wash at 30 degrees and hang it to dry, and it keeps its shape for years.",
        "orders",
    ),
    Question(
        "Order for pickup in store",
        "Can I pick up my order in the Berlin store?",
        "Yes: it will be ready at the Berlin store from Thursday; bring the order number.",
        "orders",
    ),
    Question(
        "Annual plan or monthly?",
        "What is the difference in price between the annual and the monthly plan?",
        "The annual plan costs the same as ten months; you can switch at any time.",
        "billing",
    ),
    Question(
        "Packaging without plastic?",
        "Can you ship without any plastic wrapping?",
        "All our parcels are paper-only since spring; no plastic at all.",
        "orders",
    ),
    Question(
        "Two orders in one parcel",
        "I placed two orders today; can they ship together?",
        "I merged them: one parcel, and I refunded the second shipping fee.",
        "orders",
    ),
    Question(
        "Receipt in another name",
        "I need the receipt addressed to my employer.",
        "A new receipt in your employer's name is attached to your account.",
        "billing",
    ),
    Question(
        "Opening hours on holidays",
        "Is the support line open on public holidays?",
        "Chat and email are answered every day; the phone line closes on public holidays.",
        "orders",
    ),
)

MISHAPS = (
    Mishap(
        "Parcel crushed on arrival",
        "The box was flattened and the lamp inside is broken.",
        "Our packing was too light for a glass lamp.",
        "A new lamp, packed in a double box, ships today; you will have it within three days.",
        "The new lamp was delivered this morning, in one piece.",
        "packaging",
        "orders",
    ),
    Mishap(
        "Jar leaked all over the parcel",
        "The honey jar opened and everything is sticky.",
        "We shipped the jar without sealing its lid.",
        "I am sending a fresh jar, sealed and wrapped, by express.",
        "The fresh jar arrived sealed; thank you for your patience.",
        "packaging",
        "orders",
    ),
    Mishap(
        "Charged after cancelling",
        "I cancelled my plan but was billed again.",
        "Our system missed your cancellation and billed you anyway.",
        "The charge will be back on your card within two working days.",
        "The refund has been paid back to your card.",
        "billing",
        "billing",
    ),
    Mishap(
        "Double charge on my card",
        "The same order appears twice on my statement.",
        "A timeout on our side sent your payment twice.",
        "I have reversed the second charge; it will show on your statement within two days.",
        "The second charge is reversed; your statement shows a single payment now.",
        "billing",
        "billing",
    ),
    Mishap(
        "Order never arrived",
        "Tracking has said 'in transit' for twelve days.",
        "We handed your parcel to the wrong carrier service.",
        "A replacement ships by express today, and I will watch the tracking myself.",
        "The replacement was delivered; the first parcel is being returned to us.",
        "delivery",
        "orders",
    ),
    Mishap(
        "Delivered to the wrong address",
        "The courier left my parcel at a house across town.",
        "We printed an old address from your account on the label.",
        "I am collecting it from there and delivering it to you by tomorrow evening.",
        "The parcel reached you yesterday evening, as promised.",
        "delivery",
        "orders",
    ),
    Mishap(
        "Wrong colour sent",
        "I ordered the green scarf and got a red one.",
        "We picked the wrong item in our warehouse.",
        "The green scarf ships today with a prepaid label to send the red one back.",
        "The green scarf arrived, and the red one is on its way back to us.",
        "picking",
        "orders",
    ),
    Mishap(
        "Missing item in my order",
        "The order had four plates; only three came.",
        "We packed your order without checking it against the list.",
        "The fourth plate ships today, by express.",
        "The fourth plate arrived this morning.",
        "picking",
        "orders",
    ),
    Mishap(
        "Agent was rude on the phone",
        "The person I spoke to yesterday hung up on me.",
        "One of us was rude to you and ended the call; that is not how we work.",
        "I will call you tomorrow at the time you choose and sort out your request myself.",
        "We spoke as agreed and your request is done.",
        "conduct",
        "orders",
    ),
    Mishap(
        "Promised callback never came",
        "I was told someone would call me back on Monday. Nobody did.",
        "We promised a call and did not make it.",
        "I will call you today before 5 pm, and stay on it until it is settled.",
        "I called as promised and we settled it together.",
        "conduct",
        "billing",
    ),
    Mishap(
        "Account locked for no reason",
        "I cannot log in; it says my account is suspended.",
        "Our fraud check locked your account by mistake.",
        "Your account will be unlocked within the hour, and the flag removed for good.",
        "Your account is unlocked and the mistaken flag is gone.",
        "billing",
        "billing",
    ),
    Mishap(
        "Discount code refused at checkout",
        "The code from your newsletter says it is invalid.",
        "We sent the newsletter with a code we had not switched on.",
        "I will apply the discount to your order by hand and refund the difference today.",
        "The difference has been refunded to your card.",
        "billing",
        "billing",
    ),
)

# Agents' everyday wording, varied so the history does not read like a form.
ACKNOWLEDGEMENTS = (
    "Hello {name}, thank you for writing. I have your message and I am on it.",
    "Hi {name}, thanks for getting in touch; I am looking into this now.",
    "Dear {name}, I have read your message and I am taking care of it personally.",
)
APOLOGIES = (
    "{name}, I am truly sorry. You trusted us with this and we let you down.",
    "I am sorry, {name}. This should not have happened, and it is on us.",
    "{name}, please accept my apology: we got this wrong and I understand your frustration.",
)
REJECTIONS = (
    "More than the loss; a smaller credit fits better.",
    "Already covered by the replacement we sent.",
    "Above what we grant for this; please offer the standard credit.",
)
RESTITUTION_REASONS = {
    "refund": "Refund for what went wrong.",
    "credit": "Credit on the account for the trouble.",
    "gift": "A small token to say sorry.",
    "discount": "A discount on the next order.",
    "fee_waiver": "Shipping fee waived.",
    "replacement": "A replacement sent at our cost.",
}
COMMENTS = {
    5: ("You made it right, and quickly. Thank you!", "Better than I expected, honestly."),
    4: ("All sorted now, thanks.", ""),
    3: ("Fine in the end, but it took a while.", ""),
    2: ("Still not happy with how this went.",),
    1: ("This is the second time. I am thinking of leaving.",),
}
PROCESS_FIXES = {
    "packaging": (
        "Fragile items get a double box",
        "Glass and liquids went out in single boxes, packed like everything else.",
        "Every fragile item is now flagged at checkout and packed in a double box with a "
        "sealed inner wrap.",
    ),
    "billing": (
        "Cancellations stop billing at once",
        "A cancelled plan stayed in the billing run until the next night's sync.",
        "Cancelling now removes the plan from billing in the same step, and a daily check "
        "compares charges with cancellations.",
    ),
}
