"""Fixed vocabularies of the synthetic shop: categories, words, names, countries.

Everything here is plain data. Order matters (the random draws index into these lists),
so changing a list changes the generated world for a given seed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    code: str
    weight: float  # share of demand
    median_price: float  # GBP
    season: str  # "none" | "christmas" | "summer" | "spring" | "autumn"
    nouns: tuple[str, ...]


CATEGORIES: tuple[Category, ...] = (
    Category("home.decor", 0.11, 2.95, "none", (
        "HANGING HEART", "WOODEN BLOCK LETTERS", "METAL SIGN", "PHOTO FRAME", "WALL MIRROR",
        "DOORSTOP", "BIRD ORNAMENT", "WALL ART", "HEART WICKER", "DECORATION", "WREATH",
        "GLASS CLOCHE", "BUNTING", "FRAME 7\" SINGLE SIZE")),
    Category("home.lighting", 0.08, 3.75, "autumn", (
        "T-LIGHT HOLDER", "LANTERN", "FAIRY LIGHTS", "CANDLE", "CHERRY LIGHTS", "NIGHT LIGHT",
        "LAMP", "STRING LIGHTS", "VOTIVE HOLDER", "CANDLESTICK")),
    Category("home.storage", 0.06, 4.25, "none", (
        "STORAGE TIN", "TRINKET BOX", "JAR", "BASKET", "HAT BOX", "DRAWER KNOB",
        "STORAGE BAG", "MAGAZINE RACK", "JEWELLERY BOX", "CRATE")),
    Category("home.textiles", 0.05, 4.95, "autumn", (
        "CUSHION COVER", "DOORMAT", "HOT WATER BOTTLE", "THROW", "TEA TOWEL", "APRON",
        "OVEN GLOVE", "PICNIC BLANKET", "PEG BAG")),
    Category("kitchen.tableware", 0.08, 2.55, "none", (
        "MUG", "PLATE", "BOWL", "TEACUP AND SAUCER", "CAKE STAND", "PAPER CUPS", "PAPER PLATES",
        "NAPKINS", "GLASS TUMBLER", "EGG CUP", "TEAPOT", "MILK JUG", "DOG BOWL , CHASING BALL DESIGN")),
    Category("kitchen.baking", 0.05, 1.65, "christmas", (
        "CAKE CASES", "BAKING SET", "COOKIE CUTTER", "ROLLING PIN", "CAKE TIN", "PIE DISH",
        "ICING SET", "MEASURING SPOONS", "MIXING BOWL")),
    Category("kitchen.utensils", 0.04, 2.10, "none", (
        "CHOPPING BOARD", "JAM MAKING SET", "SPATULA", "TOAST RACK", "CUTLERY SET",
        "LUNCHBOX WITH CUTLERY", "BOTTLE OPENER", "KITCHEN SCALES", "TRIVET")),
    Category("stationery.cards", 0.05, 0.42, "christmas", (
        "GREETING CARD", "BIRTHDAY CARD", "GIFT TAGS", "POSTCARD", "NOTECARD SET",
        "CHRISTMAS CARD", "THANK YOU CARD", "INVITATIONS")),
    Category("stationery.wrap", 0.06, 0.42, "christmas", (
        "WRAP", "GIFT BAG", "RIBBON REEL", "TISSUE PAPER", "GIFT BOX", "PAPER CHAIN KIT",
        "STICKER SHEET", "SELLOTAPE")),
    Category("stationery.notebooks", 0.04, 1.25, "autumn", (
        "NOTEBOOK", "MEMO BOARD", "PENCILS", "ERASER", "PEN", "JOURNAL", "ADDRESS BOOK",
        "PAPER CRAFT KIT", "SKETCHBOOK")),
    Category("gifts.christmas", 0.07, 1.95, "christmas", (
        "CHRISTMAS BAUBLE", "GLASS BALL 20 LIGHTS", "ADVENT CALENDAR", "STOCKING",
        "CHRISTMAS TREE DECORATION", "SNOWFLAKE", "ANGEL", "REINDEER", "NATIVITY SET",
        "CHRISTMAS CRACKER", "TREE TOPPER")),
    Category("gifts.party", 0.04, 1.45, "summer", (
        "PARTY BUNTING", "BALLOONS", "PARTY BAG", "CANDLES", "PARTY HATS", "PINATA",
        "CONFETTI", "PARTY CUPS")),
    Category("toys.games", 0.04, 2.95, "christmas", (
        "JIGSAW", "PLAYING CARDS", "DOMINOES", "SKITTLES", "SPINNING TOP", "MAGIC SET",
        "DRAUGHTS", "MARBLES")),
    Category("toys.kids", 0.04, 3.25, "christmas", (
        "SOFT TOY", "TEA SET", "DOLLY", "RAG DOLL", "TOY CAR", "KNITTING SET", "PUPPET",
        "PAINTING SET", "SKIPPING ROPE")),
    Category("garden.outdoor", 0.05, 4.95, "summer", (
        "PLANT POT", "WATERING CAN", "BIRD FEEDER", "GARDEN KNEELER", "POTTING SHED TWINE",
        "SEED TIN", "PLANT LABELS", "WIND CHIME", "TRUG", "HERB MARKERS")),
    Category("bags.shopping", 0.05, 1.65, "none", (
        "JUMBO BAG", "SHOPPER", "TOTE BAG", "CHARLOTTE BAG", "STRING BAG", "BEACH BAG")),
    Category("bags.lunch", 0.03, 1.65, "autumn", (
        "LUNCH BAG", "LUNCH BOX", "BOTTLE BAG", "PICNIC BASKET", "COOL BAG")),
    Category("fashion.accessories", 0.03, 2.95, "none", (
        "HAIR CLIP", "PURSE", "UMBRELLA", "SCARF", "HAIR BAND", "KEYRING", "GLOVES",
        "COMPACT MIRROR")),
    Category("jewellery.trinkets", 0.02, 2.55, "none", (
        "NECKLACE", "BRACELET", "EARRINGS", "RING", "BROOCH", "BEADED CHARM", "PENDANT")),
    Category("bath.beauty", 0.03, 2.10, "spring", (
        "SOAP DISH", "BATH SALTS", "TOILETRY BAG", "HAND CREAM", "SPONGE BAG", "NAIL BRUSH",
        "SCENTED SACHET", "LIP BALM")),
)

# Monthly category factors by season tag (Jan..Dec).
CATEGORY_SEASON: dict[str, tuple[float, ...]] = {
    "none": (1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1),
    "christmas": (0.35, 0.3, 0.3, 0.3, 0.35, 0.4, 0.5, 0.7, 1.2, 1.9, 2.6, 2.2),
    "summer": (0.6, 0.7, 0.9, 1.2, 1.5, 1.7, 1.7, 1.5, 1.0, 0.8, 0.6, 0.6),
    "spring": (0.9, 1.2, 1.5, 1.5, 1.3, 1.0, 0.9, 0.9, 0.9, 0.9, 1.0, 1.0),
    "autumn": (0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 1.0, 1.3, 1.4, 1.3, 1.1),
}

ADJECTIVES: tuple[str, ...] = (
    "VINTAGE", "RETRO", "SHABBY CHIC", "FRENCH", "REGENCY", "RUSTIC", "SCANDI", "ANTIQUE",
    "FAIRY", "HEART", "STAR", "SPOTTY", "STRIPY", "FLORAL", "PAISLEY", "ROSE", "BIRDHOUSE",
    "WOODLAND", "DOLLY GIRL", "SPACEBOY", "OWL", "CAT", "DOG", "BUTTERFLY", "PARISIENNE",
    "ENGLISH ROSE", "LOVE", "HOME SWEET HOME", "SWEETHEART", "GINGHAM", "TOADSTOOL", "JUNGLE",
    "CIRCUS PARADE", "ALPINE", "NORDIC", "GARDEN", "SEASIDE", "KEEP CALM", "ORIENTAL",
    "MOROCCAN", "ENAMEL", "ZINC", "WICKER", "CERAMIC", "GLASS", "WOODEN", "FELT", "KNITTED",
)

COLOURS: tuple[str, ...] = (
    "WHITE", "IVORY", "PINK", "RED", "BLUE", "GREEN", "BLACK", "SILVER", "GOLD", "PURPLE",
    "YELLOW", "ORANGE", "CREAM", "TURQUOISE", "LILAC", "NATURAL",
)

SIZES: tuple[tuple[str, float, float], ...] = (
    # (word, price factor, sampling weight)
    ("", 1.0, 6.0),
    ("SMALL", 0.8, 1.0),
    ("LARGE", 1.35, 1.0),
    ("MINI", 0.6, 0.6),
    ("JUMBO", 1.8, 0.4),
    ("SET OF 3", 2.2, 0.8),
    ("SET OF 6", 3.2, 0.5),
)

# Wording swaps used to make a second description for the same stock code.
DESCRIPTION_SWAPS: tuple[tuple[str, str], ...] = (
    ("SET OF 3", "SET/3"),
    ("SET OF 6", "SET/6"),
    ("T-LIGHT", "TEA LIGHT"),
    ("WHITE", "CREAM"),
    ("IVORY", "OFF WHITE"),
    (" AND ", " & "),
    ("GREY", "GRAY"),
    ("CHRISTMAS", "XMAS"),
    ("JUMBO", "JUMBO SIZE"),
    ("SMALL", "SML"),
    ("LARGE", "LGE"),
    ("SHABBY CHIC", "SHABBY-CHIC"),
)

BRANDS: tuple[str, ...] = (
    "ambleside", "brambleworth", "cosynest", "daisychain", "elmstead", "foxglove", "greyfriars",
    "hollybrook", "ivyhouse", "juniper & co", "kestrel", "larkspur", "meadowlane", "nettlebed",
    "oakapple", "pennyroyal", "quillpress", "rosehip", "saltmarsh", "thistledown", "umberleigh",
    "violetta", "willowmere", "yarrowdale", "zephyr", "bluebell", "copperkettle", "dovecote",
    "emberly", "fernhill", "goldcrest", "hearthside", "inkwell", "jollyholly", "kitekraft",
    "littlewren", "moonpenny", "northgate", "orchardlane", "pipistrelle",
)

# Non-merchandise stock codes as they appear in Online Retail II (code, description).
NON_MERCH: tuple[tuple[str, str], ...] = (
    ("POST", "POSTAGE"),
    ("M", "Manual"),
    ("D", "Discount"),
    ("DOT", "DOTCOM POSTAGE"),
    ("BANK CHARGES", " Bank Charges"),
    ("AMAZONFEE", "AMAZON FEE"),
    ("C2", "CARRIAGE"),
    ("CRUK", "CRUK Commission"),
)
NM_POST, NM_M, NM_D, NM_DOT, NM_BANK, NM_AMAZON, NM_C2, NM_CRUK = range(len(NON_MERCH))

HOME_COUNTRY = "United Kingdom"
# Other countries with relative weights, roughly as in the UCI data.
OTHER_COUNTRIES: tuple[tuple[str, float], ...] = (
    ("Germany", 9.0), ("France", 8.0), ("EIRE", 8.0), ("Spain", 2.5), ("Netherlands", 2.3),
    ("Belgium", 2.0), ("Switzerland", 1.9), ("Portugal", 1.5), ("Australia", 1.3),
    ("Norway", 1.0), ("Italy", 0.8), ("Channel Islands", 0.8), ("Finland", 0.7),
    ("Cyprus", 0.6), ("Sweden", 0.5), ("Austria", 0.4), ("Denmark", 0.4), ("Japan", 0.4),
    ("Poland", 0.35), ("USA", 0.3), ("Israel", 0.3), ("Singapore", 0.2), ("Iceland", 0.2),
    ("Canada", 0.15), ("Greece", 0.15), ("Malta", 0.12), ("United Arab Emirates", 0.1),
    ("European Community", 0.06), ("RSA", 0.06), ("Lebanon", 0.05), ("Lithuania", 0.04),
    ("Brazil", 0.03), ("Czech Republic", 0.03), ("Bahrain", 0.03), ("Saudi Arabia", 0.02),
)
EU_COUNTRIES = frozenset({
    "Germany", "France", "EIRE", "Spain", "Netherlands", "Belgium", "Portugal", "Italy",
    "Finland", "Cyprus", "Sweden", "Austria", "Denmark", "Poland", "Greece", "Malta",
    "European Community", "Lithuania", "Czech Republic", "Switzerland", "Norway", "Iceland",
    "Channel Islands",
})

CHANNELS: tuple[tuple[str, float, float], ...] = (
    # (channel, share, churn hazard multiplier)
    ("organic", 0.35, 1.0),
    ("paid_search", 0.25, 1.45),
    ("social", 0.15, 1.3),
    ("email", 0.12, 0.7),
    ("referral", 0.13, 0.8),
)

# Names: only characters that Latin-1 and cp1252 encode identically (no 0x80-0x9F).
FIRST_NAMES: tuple[str, ...] = (
    "Oliver", "George", "Harry", "Jack", "Jacob", "Noah", "Charlie", "Thomas", "Oscar",
    "William", "James", "Henry", "Leo", "Alfie", "Joshua", "Freddie", "Archie", "Ethan",
    "Isaac", "Alexander", "Daniel", "Samuel", "Joseph", "Max", "Mohammed", "David", "Paul",
    "Mark", "Andrew", "Richard", "Olivia", "Amelia", "Isla", "Ava", "Emily", "Sophia",
    "Grace", "Mia", "Poppy", "Ella", "Lily", "Evie", "Isabella", "Sophie", "Ivy", "Freya",
    "Harper", "Charlotte", "Florence", "Sarah", "Emma", "Hannah", "Jessica", "Lucy", "Ruth",
    "Margaret", "Helen", "Claire", "Rachel", "Laura", "Priya", "Aisha", "Fatima", "Siobhan",
    "Niamh", "Ciaran", "Hans", "Anna", "Maria", "Pierre", "Luca", "Sven", "Ingrid", "Marco",
)
ACCENTED_FIRST_NAMES: tuple[str, ...] = (
    "José", "Zoë", "Chloé", "Renée", "Noël", "Björn", "Søren", "Jürgen", "François",
    "Inés", "Céline", "Hélène", "Ramón", "Joaquín", "Agnès", "Mónica", "Raúl", "Zoé",
    "Åsa", "Günter", "Jérôme", "Anaïs", "Frédéric", "Léa", "Maëlle", "Sébastien",
)
LAST_NAMES: tuple[str, ...] = (
    "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas",
    "Johnson", "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards",
    "Hughes", "Green", "Hall", "Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood",
    "Turner", "Martin", "Cooper", "Hill", "Ward", "Morris", "Moore", "Clark", "Lee", "King",
    "Baker", "Harrison", "Morgan", "Allen", "James", "Scott", "Phillips", "Watson", "Davis",
    "Parker", "Price", "Bennett", "Young", "Griffiths", "Mitchell", "Kelly", "Cook", "Carter",
    "Richardson", "Bailey", "Collins", "Bell", "Shaw", "Murphy", "Miller", "Cox", "Khan",
    "Marshall", "Anderson", "Simpson", "Ellis", "Adams", "Singh", "Begum", "Wilkinson",
    "Foster", "Chapman", "Powell", "Webb", "Rogers", "Gray", "Mason", "Ali", "Hunt",
    "O'Brien", "O'Neill", "McDonald", "Fitzgerald", "Schmidt", "Dubois", "Rossi", "Jansen",
)
ACCENTED_LAST_NAMES: tuple[str, ...] = (
    "Núñez", "Brontë", "Müller", "García", "Gómez", "Pérez", "Fernández", "Schröder",
    "Jäger", "Lefèvre", "Åberg", "Søndergaard", "Ibáñez", "Muñoz", "Köhler", "Böhm",
    "Gonçalves", "Françoise", "Hernández", "Sánchez", "Martínez", "Östlund", "Çelik",
)
EMAIL_DOMAINS: tuple[str, ...] = (
    "gmail.com", "outlook.com", "yahoo.co.uk", "hotmail.co.uk", "btinternet.com",
    "icloud.com", "sky.com", "web.de", "orange.fr", "example.org",
)
