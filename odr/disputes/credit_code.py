"""The unified social credit code (统一社会信用代码), GB 32100-2015.

18 characters from an alphabet of 31 (no I, O, Z, S, V); the last is a check character:
C18 = 31 - (sum of value(Ci) * Wi for i in 1..17) mod 31, where 31 maps to 0.
"""

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_character(first17: str) -> str:
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def credit_code_error(code: str) -> str | None:
    """None when valid, else why not (English; callers translate the key)."""
    code = (code or "").strip().upper()
    if len(code) != 18:
        return "length"
    if any(c not in ALPHABET for c in code):
        return "characters"
    if check_character(code[:17]) != code[17]:
        return "check"
    return None


def normalise(code: str) -> str:
    return (code or "").strip().upper()
