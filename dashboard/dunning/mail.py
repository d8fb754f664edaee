"""Sending a letter by e-mail through the SMTP server of settings [mail] (password: $O2C_MAIL_PASSWORD)."""

from __future__ import annotations

import os
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from dashboard.settings import MailSettings

PASSWORD_ENV = "O2C_MAIL_PASSWORD"


class MailError(RuntimeError):
    """The server refused or could not be reached; the message says which (the letter is marked failed)."""


def plain_text(html: str) -> str:
    """A readable text part from the letter's HTML (the PDF attached is the letter itself)."""
    text = re.sub(r"<br\s*/?>|</p>|</tr>|</h\d>", "\n", html)
    text = re.sub(r"</t[dh]>", "  ", text)
    text = re.sub(r"<[^>]+>", "", text)
    import html as h

    return re.sub(r"\n{3,}", "\n\n", h.unescape(text)).strip() + "\n"


def message(mail: MailSettings, to: str, subject: str, html: str, pdf: bytes, filename: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = mail.sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=mail.sender.rpartition("@")[2] or None)
    msg.set_content(plain_text(html))
    msg.add_alternative(html, subtype="html")
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=filename)
    return msg


def send(mail: MailSettings, msg: EmailMessage) -> str:
    """Send; the Message-ID on success. Any failure (refused, unreachable, timed out) raises MailError."""
    try:
        if mail.ssl:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(mail.host, mail.port, timeout=mail.timeout_seconds, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(mail.host, mail.port, timeout=mail.timeout_seconds)
        with smtp:
            if mail.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if mail.user:
                smtp.login(mail.user, os.environ.get(PASSWORD_ENV, ""))
            refused = smtp.send_message(msg)
        if refused:
            raise MailError(f"the server refused {', '.join(refused)}")
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"sending to {msg['To']} through {mail.host}:{mail.port} failed: {exc}") from None
    return str(msg["Message-ID"])
