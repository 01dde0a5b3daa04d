"""Platform limits, in one place: validation checks content against them, adapters render within them."""

# Telegram's are python-telegram-bot's `telegram.constants` (MessageLimit.MAX_TEXT_LENGTH,
# InlineKeyboardButtonLimit.MAX_CALLBACK_DATA), which the Telegram renderer uses; they are
# repeated here because content validation sits below every platform library.
# tests/test_architecture.py checks that the two agree.
TELEGRAM_MESSAGE = 4096  # characters in one message
TELEGRAM_CALLBACK_DATA = 64  # bytes of UTF-8 in a button's callback data
BUTTON_PAYLOAD = TELEGRAM_CALLBACK_DATA  # the engine's payloads must fit the smallest carrier

WHATSAPP_TEXT = 4096
WHATSAPP_BUTTON_TITLE = 20  # reply button title
WHATSAPP_REPLY_BUTTONS = 3
WHATSAPP_LIST_ROW_TITLE = 24
WHATSAPP_LIST_ROW_DESCRIPTION = 72
WHATSAPP_LIST_ROWS = 10
WHATSAPP_INTERACTIVE_BODY = 1024

# Content rules derived from the limits above.
ANSWER_MAX = 1500  # an FAQ answer, before the source line is added
TITLE_MAX = WHATSAPP_LIST_ROW_TITLE  # titles and option labels become buttons or list rows
PROMPT_MAX = WHATSAPP_INTERACTIVE_BODY  # a node prompt is the body above its buttons
MAX_OPTIONS = 8
MIN_QUESTIONS = 8
REVIEW_MAX_AGE_DAYS = 365

# Free text longer than this is cut before matching: nobody asks one question in 2,000 characters.
MATCH_INPUT_MAX = 2000
