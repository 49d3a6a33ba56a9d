"""A real SMTP server for the email channel's tests: aiosmtpd on loopback, STARTTLS required
before anything else, AUTH LOGIN or PLAIN for one user (also only after STARTTLS), every
accepted message written to a Maildir with how it arrived in X-Test-* headers.

Usage: server.py --cert server.pem --key server.key --user NAME --maildir DIR
The password is read from the environment variable SMTP_TEST_PASSWORD. Prints `port N` on
stdout once listening on 127.0.0.1:N (a free port), then serves until killed.

Installed by .ci/run into target/smtp-venv (python3 -m venv target/smtp-venv &&
target/smtp-venv/bin/pip install aiosmtpd==1.4.6).
"""

import argparse
import asyncio
import logging
import mailbox
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Handler:
    """Writes each message to the Maildir, headed by how the session delivered it."""

    def __init__(self, maildir):
        self.maildir = mailbox.Maildir(maildir, create=True)

    async def handle_DATA(self, server, session, envelope):
        tls = session.ssl["ssl_object"].version() if session.ssl else "none"
        login = session.auth_data if session.authenticated else "none"
        head = (
            f"X-Test-TLS: {tls}\r\n"
            f"X-Test-Auth: {login}\r\n"
            f"X-Test-Mail-From: {envelope.mail_from}\r\n"
            f"X-Test-Rcpt-To: {' '.join(envelope.rcpt_tos)}\r\n"
        ).encode()
        self.maildir.add(head + envelope.original_content)
        return "250 2.0.0 Ok: stored"


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = auth_data.login == user.encode() and auth_data.password == password.encode()
        # handled=False: aiosmtpd answers the client (235, or 535 on a refusal) itself.
        return AuthResult(
            success=ok, handled=False, auth_data=f"{auth_data.login.decode()} {mechanism}"
        )

    return check


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--maildir", required=True)
    args = parser.parse_args()
    password = os.environ["SMTP_TEST_PASSWORD"]
    # aiosmtpd warns about its own deprecated attributes on every AUTH.
    logging.getLogger("mail.log").setLevel(logging.ERROR)

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    handler = Handler(args.maildir)

    def protocol():
        return SMTP(
            handler,
            hostname="localhost",
            tls_context=context,
            require_starttls=True,
            auth_required=True,
            auth_require_tls=True,
            authenticator=authenticator(args.user, password),
        )

    loop = asyncio.get_running_loop()
    server = await loop.create_server(protocol, host="127.0.0.1", port=0)
    port = server.sockets[0].getsockname()[1]
    print(f"port {port}", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
