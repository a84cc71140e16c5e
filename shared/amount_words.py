"""An amount in Chinese capital numerals (大写金额), as a receipt must show it next to the figures.

Written the way the payment rules (《支付结算办法》) ask: 壹拾 not 拾, one 零 for any run of
zeros inside the number, 整 when the amount stops at 元 or 角, and no 零元 before an amount
below one yuan (0.05 → 伍分).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

DIGITS = "零壹贰叁肆伍陆柒捌玖"
# Within a group of four digits, from the thousands down.
_PLACES = ("仟", "佰", "拾", "")
# Groups of four digits, from the lowest.
_GROUPS = ("", "万", "亿", "万亿")
_CENT = Decimal("0.01")


def _group_words(group: int) -> str:
    """1–9999 without leading zeros; one 零 for zeros between digits."""
    words = ""
    zero_pending = False
    for place, digit in zip(_PLACES, f"{group:04d}", strict=True):
        if digit == "0":
            zero_pending = bool(words)
            continue
        if zero_pending:
            words += "零"
            zero_pending = False
        words += DIGITS[int(digit)] + place
    return words


def _integer_words(number: int) -> str:
    groups = []
    rest = number
    while rest:
        rest, group = divmod(rest, 10000)
        groups.append(group)
    if len(groups) > len(_GROUPS):
        raise ValueError(f"amount too large for words: {number}")
    words = ""
    zero_pending = False
    for index in reversed(range(len(groups))):
        group = groups[index]
        if group == 0:
            zero_pending = bool(words)
            continue
        # 1,0001 → 壹万零壹: a group with leading zeros after a higher group reads its 零.
        if words and (zero_pending or group < 1000):
            words += "零"
        words += _group_words(group) + _GROUPS[index]
        zero_pending = False
    return words


def amount_in_words(amount: Decimal) -> str:
    """壹佰贰拾叁元肆角伍分 for 123.45; 零元整 for 0; 负 before a refund's negative amount."""
    cents_total = int((abs(amount) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    yuan, cents = divmod(cents_total, 100)
    jiao, fen = divmod(cents, 10)
    sign = "负" if amount < 0 and cents_total else ""
    if cents_total == 0:
        return "零元整"
    words = _integer_words(yuan) + "元" if yuan else ""
    if jiao:
        words += DIGITS[jiao] + "角"
    elif fen and yuan:
        words += "零"
    words += DIGITS[fen] + "分" if fen else "整"
    return sign + words
