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
        # The question waits in a reporter's thread: the owner is told where, and that its link went elsewhere.
        "question_elsewhere.subject": "Our team asked the reporter of your case a question ({reference})",
        "question_elsewhere.body": "Our team asked a question in case {reference}, on the page of the report that "
                                   "was filed. If you filed it, answer there: we sent that page's link to the email "
                                   "address or phone number given in the report. If you did not, or cannot reach it, "
                                   "write to our team on your own case page below.",
        "reminder_elsewhere.subject": "A question in your case is still waiting ({reference})",
        "reminder_elsewhere.body": "Case {reference} is still waiting for an answer on the page of the report that "
                                   "was filed. If you filed it, answer there (its link went to the contact given in "
                                   "the report); otherwise write to our team on your own case page below.",
    },
    "zh-CN": {
        "question.subject": "我们的团队对您的工单有一个问题（{reference}）",
        "question.body": "我们需要您提供一些信息才能继续处理工单 {reference}。请打开您的工单页面查看问题并在那里回复；回复时可以附上文件。",
        "reminder.subject": "我们正在等待您的回复（{reference}）",
        "reminder.body": "工单 {reference} 正在等待您的回复。请打开您的工单页面查看我们的问题并作答，以便我们继续处理。",
        "question_elsewhere.subject": "我们的团队向您工单的报告人提了一个问题（{reference}）",
        "question_elsewhere.body": "我们的团队在工单 {reference} 的报告页面上提了一个问题。如果报告是您提交的，请在那里回复："
                                   "该页面的链接已发送到报告中填写的邮箱或手机号。如果不是您提交的，或您无法收到该链接，"
                                   "请在下方您自己的工单页面给我们留言。",
        "reminder_elsewhere.subject": "您工单中的一个问题仍在等待回复（{reference}）",
        "reminder_elsewhere.body": "工单 {reference} 仍在等待报告页面上的回复。如果报告是您提交的，请在那里回复（链接已发送到报告中填写的联系方式）；"
                                   "否则请在下方您自己的工单页面给我们留言。",
    },
}
SMS_TEXTS: dict[str, dict[str, str]] = {
    "en": {"question": "We have a question: reply on your case page.",
           "reminder": "We are waiting for your reply on your case page.",
           "question_elsewhere": "We asked the reporter of your case a question; see the report's page or your own.",
           "reminder_elsewhere": "A question to the reporter of your case still waits; see the report's page or "
                                 "your own."},
    "zh-CN": {"question": "我们有一个问题，请在工单页面回复，", "reminder": "我们正在等待您在工单页面回复，",
              "question_elsewhere": "我们向您工单的报告人提了一个问题，请查看报告页面或您自己的工单页面，",
              "reminder_elsewhere": "向您工单报告人提的问题仍在等待回复，请查看报告页面或您自己的工单页面，"},
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
