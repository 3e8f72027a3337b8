"""The words of the conversation's notifications: a question for the owner, the reminders, the queue's mail."""
from __future__ import annotations

# Never the message or its files: only that there is something to read, and where.
OWNER_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "question.subject": "Our team has a question about your case ({reference})",
        "question.body": "Our team needs something from you to continue case {reference}. Open your case page to "
                         "read the question and reply there; you can attach documents to your reply.",
        "reminder.subject": "We are waiting for your reply ({reference})",
        "reminder.body": "Case {reference} is waiting for your reply. Open your case page to read our question "
                         "and answer it so that we can continue.",
    },
    "zh-CN": {
        "question.subject": "我们的团队对您的工单有一个问题（{reference}）",
        "question.body": "我们需要您提供一些信息才能继续处理工单 {reference}。请打开您的工单页面查看问题并在那里回复；回复时可以附上文件。",
        "reminder.subject": "我们正在等待您的回复（{reference}）",
        "reminder.body": "工单 {reference} 正在等待您的回复。请打开您的工单页面查看我们的问题并作答，以便我们继续处理。",
    },
}
SMS_TEXTS: dict[str, dict[str, str]] = {
    "en": {"question": "We have a question: reply on your case page.",
           "reminder": "We are waiting for your reply on your case page."},
    "zh-CN": {"question": "我们有一个问题，请在工单页面回复，", "reminder": "我们正在等待您在工单页面回复，"},
}
OWNER_REPLIED_TEXT = {
    "subject": "The owner replied: {reference}",
    "body": "The owner of account {account_id} wrote in case {reference}. Read the reply in the staff console.",
}


def render_owner_replied(*, reference: str, account_id: str):
    """The queue's mail about an owner's reply (staff read English)."""
    from incidents.notifications import Rendered

    return Rendered(subject=OWNER_REPLIED_TEXT["subject"].format(reference=reference),
                    text=OWNER_REPLIED_TEXT["body"].format(reference=reference, account_id=account_id), language="en")


def add_conversation_texts(catalogue: dict[str, dict[str, str]], sms_summary: dict[str, dict[str, str]]) -> None:
    """Put the conversation's words into the notification catalogues."""
    for language, words in OWNER_TEXTS.items():
        catalogue[language].update(words)
    for language, words in SMS_TEXTS.items():
        sms_summary[language].update(words)
