"""The owner's and the risk queue's messages in words: the catalogue in English and Chinese, and the renderers."""
from __future__ import annotations

from dataclasses import dataclass

from verification.service import resolve_language

CATALOGUE: dict[str, dict[str, str]] = {
    "en": {
        "received.subject": "We received your report ({reference})",
        "received.body": "We received a report about your account and opened case {reference}.",
        "frozen.subject": "Your account has been frozen ({reference})",
        "frozen.body": "To protect your assets, your account has been frozen. Logins and withdrawals stay "
                       "blocked until the case is reviewed. To get the account back, open your case page below, "
                       "prove that the account is yours and ask for the unfreeze.",
        "verification_passed.subject": "Identity verification completed ({reference})",
        "verification_passed.body": "The identity verification for case {reference} was completed. Next, ask "
                                    "for the unfreeze on your case page below; risk officers then review it.",
        "unfreeze_approved.subject": "Your unfreeze request was approved ({reference})",
        "unfreeze_approved.body": "Risk officers approved the unfreeze of your account. It is lifted at the "
                                  "earliest allowed time, {when}, and withdrawals stay on hold for a cooling-off "
                                  "period.",
        "unfreeze_rejected.subject": "Your unfreeze request was declined ({reference})",
        "unfreeze_rejected.body": "After review, your unfreeze request was declined and your account stays "
                                  "frozen. Follow case {reference} on its status page for the next steps.",
        "unfrozen.subject": "Your account has been unfrozen ({reference})",
        "unfrozen.body": "Your account has been unfrozen: you can sign in and trade again. Withdrawals stay on hold "
                         "for a cooling-off period; your case page shows until when.",
        "code_reused.subject": "A verification code was used twice ({reference})",
        "code_reused.body": "Someone entered a one-time code for case {reference} that had already been used. If "
                            "that was not you, someone else may have seen your codes: freeze your account again "
                            "with the link below.",
        "case_link.subject": "Your private link to case {reference}",
        "case_link.body": "Someone asked for the private link to case {reference}. It is below, and only ever "
                          "sent to the email address and phone registered at your exchange.",
        "reopened.subject": "Your case was reopened ({reference})",
        "reopened.body": "Our staff reopened case {reference}. Open the case page below to see its state and the "
                         "next step; staff answer there within the case's time limit.",
        "case": "Case: {reference}",
        "follow": "Follow your case (keep this link to yourself): {link}",
        "anti_phishing": "Your anti-phishing code: {code}. Our genuine messages always show it.",
        "never_ask": "Lockdesk never asks for your password, private keys or any verification code. "
                     "Do not share them with anyone, including our staff.",
        "not_me": "Wasn't you? Freeze your account again: {link}",
        "sms": "[Lockdesk] {summary} {case}: {case_link} {anti_phishing}We never ask for passwords or codes. "
               "Not you? {link}",
        "sms_anti_phishing": "Anti-phishing code: {code}. ",
    },
    "zh-CN": {
        "received.subject": "我们已收到您的报告（{reference}）",
        "received.body": "我们已收到关于您账户的报告，并已受理工单 {reference}。",
        "frozen.subject": "您的账户已被冻结（{reference}）",
        "frozen.body": "为保护您的资产，您的账户已被冻结。在工单审核完成前，登录和提现将保持禁用。如需恢复账户，请打开下方的工单页面，证明账户归您所有并申请解冻。",
        "verification_passed.subject": "身份验证已完成（{reference}）",
        "verification_passed.body": "工单 {reference} 的身份验证已完成。下一步，请在下方的工单页面申请解冻，之后由风控人员审核。",
        "unfreeze_approved.subject": "您的解冻申请已获批准（{reference}）",
        "unfreeze_approved.body": "风控人员已批准解冻您的账户。账户将在允许的最早时间（{when}）解冻，之后提现仍会暂缓一段冷静期。",
        "unfreeze_rejected.subject": "您的解冻申请未获批准（{reference}）",
        "unfreeze_rejected.body": "经审核，您的解冻申请未获批准，账户仍保持冻结。请在工单 {reference} 的状态页面查看后续步骤。",
        "unfrozen.subject": "您的账户已解冻（{reference}）",
        "unfrozen.body": "您的账户已解冻：现在可以重新登录和交易。提现仍会暂缓一段冷静期，具体截止时间请查看工单页面。",
        "code_reused.subject": "验证码被重复使用（{reference}）",
        "code_reused.body": "有人在工单 {reference} 中输入了一个已经使用过的一次性验证码。如果不是您本人，您的验证码可能已被他人看到：请使用下方链接再次冻结账户。",
        "case_link.subject": "您的工单专属链接（{reference}）",
        "case_link.body": "有人申请了工单 {reference} 的专属链接。链接见下方，它只会发送到您在交易所登记的邮箱和手机。",
        "reopened.subject": "您的工单已重新打开（{reference}）",
        "reopened.body": "工作人员已重新打开工单 {reference}。请打开下方的工单页面查看当前状态和下一步；工作人员会在工单时限内在那里答复您。",
        "case": "工单编号：{reference}",
        "follow": "查看您的工单（请勿将此链接告诉他人）：{link}",
        "anti_phishing": "您的防钓鱼码：{code}。我们发送的真实消息都会显示此码。",
        "never_ask": "Lockdesk 绝不会索要您的密码、私钥或任何验证码。请勿将其告诉任何人，包括我们的工作人员。",
        "not_me": "如果这不是您本人的操作，请点击链接再次冻结账户：{link}",
        "sms": "【Lockdesk】{summary}{case}：{case_link} {anti_phishing}我们绝不会索要密码或验证码。非本人操作？{link}",
        "sms_anti_phishing": "防钓鱼码：{code}。",
    },
}
SMS_SUMMARY = {
    "en": {"received": "Report received.", "frozen": "Your account was frozen.",
           "verification_passed": "Identity verification completed.",
           "unfreeze_approved": "Unfreeze approved, from {when}.", "unfreeze_rejected": "Unfreeze declined.",
           "unfrozen": "Your account was unfrozen.", "code_reused": "A used code was entered again.",
           "case_link": "Your case link.", "reopened": "Your case was reopened."},
    "zh-CN": {"received": "已收到您的报告，", "frozen": "您的账户已冻结，", "verification_passed": "身份验证已完成，",
              "unfreeze_approved": "解冻申请已批准，{when}起生效，", "unfreeze_rejected": "解冻申请未获批准，",
              "unfrozen": "您的账户已解冻，", "code_reused": "有人重复输入了已使用的验证码，",
              "case_link": "您的工单链接，", "reopened": "您的工单已重新打开，"},
}
RISK_QUEUE_TEXT = {
    "subject": "SLA breached: {reference} escalated to the risk queue",
    "body": "Case {reference} (account {account_id}) passed its SLA deadline {due} and was escalated to the risk "
            "queue. Open it in the staff console.",
}


# --- rendering --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    """A message ready for its channel."""

    subject: str
    text: str
    language: str


def render_owner_email(*, notice: str, language: str, reference: str, anti_phishing_code: str | None,
                       link: str, case_link: str = "", when: str = "") -> Rendered:
    """The owner's email: what happened, the case and its private link, the anti-phishing code, the warning and
    the "this wasn't me" link."""
    words = CATALOGUE[resolve_language(language)]
    lines = [words[f"{notice}.body"].format(reference=reference, when=when), "",
             words["case"].format(reference=reference)]
    if case_link:
        lines.append(words["follow"].format(link=case_link))
    if anti_phishing_code:
        lines.append(words["anti_phishing"].format(code=anti_phishing_code))
    lines += ["", words["never_ask"], "", words["not_me"].format(link=link)]
    return Rendered(subject=words[f"{notice}.subject"].format(reference=reference), text="\n".join(lines),
                    language=resolve_language(language))


def render_owner_sms(*, notice: str, language: str, reference: str, anti_phishing_code: str | None,
                     link: str, case_link: str = "", when: str = "") -> Rendered:
    """The owner's text message, short but with the same parts."""
    language = resolve_language(language)
    words = CATALOGUE[language]
    anti_phishing = words["sms_anti_phishing"].format(code=anti_phishing_code) if anti_phishing_code else ""
    text = words["sms"].format(summary=SMS_SUMMARY[language][notice].format(when=when),
                               case=words["case"].format(reference=reference),
                               anti_phishing=anti_phishing, link=link, case_link=case_link)
    return Rendered(subject="", text=text, language=language)


def render_risk_queue_email(*, reference: str, account_id: str, due: str) -> Rendered:
    """The escalation mail to the risk queue (staff read English)."""
    return Rendered(subject=RISK_QUEUE_TEXT["subject"].format(reference=reference),
                    text=RISK_QUEUE_TEXT["body"].format(reference=reference, account_id=account_id, due=due),
                    language="en")
