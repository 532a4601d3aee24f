"""The words of the generated desk: names, products, and the sentences
messages are made of (varied enough for full-text search to have rare and
common terms: order numbers, products, everyday words)."""

TIME_ZONES = (
    "Europe/London",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Warsaw",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Australia/Sydney",
    "Africa/Lagos",
    "",
)
FIRST_NAMES = (
    "Ada", "Ben", "Chloe", "Dev", "Elif", "Farah", "Gus", "Hana", "Ivan", "Jia", "Kofi", "Lena",
    "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tomas", "Uma", "Vera", "Wen",
    "Xavi", "Yara", "Zeno", "Amara", "Bruno", "Carmen", "Dara",
)  # fmt: skip
LAST_NAMES = (
    "Okafor", "Lindqvist", "Moreau", "Tanaka", "Novak", "Silva", "Haddad", "Kowalski", "Mensah",
    "Rossi", "Fischer", "Park", "Nguyen", "Costa", "Byrne", "Ivanova", "Dubois", "Ahmed",
    "Larsen", "Ortega", "Walsh", "Keller", "Sato", "Mwangi",
)  # fmt: skip
PRODUCTS = (
    "espresso grinder",
    "trail backpack",
    "standing desk",
    "noise-cancelling headphones",
    "cast iron pan",
    "yoga mat",
    "e-reader",
    "winter jacket",
    "smart thermostat",
    "electric kettle",
    "running shoes",
    "office chair",
    "baby stroller",
    "camping stove",
    "bike helmet",
    "air purifier",
    "mechanical keyboard",
    "wool blanket",
    "garden hose",
    "phone case",
    "subscription box",
    "concert tickets",
    "hotel booking",
    "gift card",
)
SUBJECTS = (
    "My {product} arrived damaged",
    "Where is order {order}?",
    "Question about my {product}",
    "Charged twice for order {order}",
    "The {product} stopped working",
    "Wrong size sent for order {order}",
    "How do I return the {product}?",
    "Missing part in the {product} box",
    "Delivery late again (order {order})",
    "Can I change the address on order {order}?",
    "Refund for the {product} not received",
    "Invoice needed for order {order}",
)
CUSTOMER_SENTENCES = (
    "I ordered the {product} on the {day} and it still has not arrived.",
    "The box was crushed and the {product} inside is scratched.",
    "Order {order} shows as delivered but nothing was at my door.",
    "I was charged twice on my card for order {order}.",
    "Could you tell me how to return the {product}?",
    "This is the second time this has happened with your courier.",
    "I need it before the weekend because it is a gift.",
    "The tracking page has not changed for five days.",
    "Honestly I am disappointed, I have been a customer for years.",
    "Thank you for getting back to me so quickly.",
    "The replacement {product} works perfectly, thanks.",
    "Is there a warranty on the {product}?",
    "I tried resetting it as the manual says but the light keeps blinking red.",
    "Can you send the invoice to my work address in {city}?",
    "Your colleague on the phone promised a call back that never came.",
    "I attached a photo of the damaged packaging.",
    "Please cancel the rest of the order, I no longer need it.",
    "The parcel was left in the rain and the contents are soaked.",
    "Do you ship to {city}?",
    "I would like a refund rather than a voucher.",
)
AGENT_SENTENCES = (
    "Thank you for writing to us, and I am sorry for the trouble with your {product}.",
    "I have checked order {order} and I can see what went wrong.",
    "Our courier marked the parcel as delivered by mistake; that is on us.",
    "I have arranged a replacement {product}, which leaves our warehouse today.",
    "You will receive a refund of the duplicate charge within three working days.",
    "I have added a note to your account so this does not happen again.",
    "Could you send me a photo of the label on the box?",
    "The warranty covers the {product} for two years from delivery.",
    "I will call you tomorrow morning to make sure everything arrived.",
    "We have changed how we pack fragile items after mishaps like yours.",
    "The invoice is attached to this message.",
    "I have sent you a prepaid return label by email.",
    "Please let me know if there is anything else I can do.",
    "Our delivery partner in {city} has been told about the delay.",
    "As a thank you for your patience we have added a credit to your account.",
)
NOTES = (
    "Customer called again, very frustrated about the courier.",
    "Checked the warehouse log: parcel left on the {day}.",
    "Second mishap for this customer this quarter; keep an eye on it.",
    "Refund approved by finance, reference {order}.",
    "Courier claim opened for order {order}.",
    "Asked the team lead whether we can waive the return fee.",
)
PROMISES = (
    "We will deliver a replacement {product} by express courier.",
    "We will refund the duplicate charge and confirm it by email.",
    "We will collect the damaged {product} and send a new one.",
    "We will call you once the courier claim for order {order} is settled.",
)
CITIES = ("Lisbon", "Leeds", "Lyon", "Leipzig", "Austin", "Osaka", "Pune", "Perth", "Accra")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
