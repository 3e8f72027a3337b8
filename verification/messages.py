"""What the owner reads in an SMS, in English and Simplified Chinese (English when unknown)."""
from __future__ import annotations

DEFAULT_LANGUAGE = "en"

CATALOGUE: dict[str, dict[str, str]] = {
    "en": {
        "sms_code": "Lockdesk verification code: {code} (valid {minutes} min). "
                    "Never share this code with anyone, not even our staff.",
        "anti_phishing": " Your anti-phishing code: {anti_phishing_code}.",
    },
    "zh-CN": {
        "sms_code": "Lockdesk 验证码：{code}（{minutes} 分钟内有效）。"
                    "切勿将验证码告诉任何人，包括我们的工作人员。",
        "anti_phishing": "您的防钓鱼码：{anti_phishing_code}。",
    },
}


def resolve_language(language: str | None) -> str:
    """The catalogue language for a tag such as 'zh-CN', 'zh-Hans' or 'en-GB'."""
    if not language:
        return DEFAULT_LANGUAGE
    for known in CATALOGUE:
        if known.lower() == language.lower():
            return known
    primary = language.split("-")[0].split("_")[0].lower()
    return "zh-CN" if primary == "zh" else DEFAULT_LANGUAGE


def sms_code_text(*, code: str, minutes: int, language: str | None,
                  anti_phishing_code: str | None) -> str:
    """The code message, carrying the account's anti-phishing code when it has one."""
    entries = CATALOGUE[resolve_language(language)]
    text = entries["sms_code"].format(code=code, minutes=minutes)
    if anti_phishing_code:
        text += entries["anti_phishing"].format(anti_phishing_code=anti_phishing_code)
    return text
