"""`despacho loadtest`: simulated customers and agents against a running production deployment.

Customers write over signed webhooks (`adapters.twilio_signatures`), identify themselves with their
document and talk; agents (bearer tokens) set themselves available, poll their open chats, reply within a
few seconds and close with a disposition. The loadtest plays Twilio too: it serves the fake Twilio the
deployment sends to (`DESPACHO_TWILIO_API_BASE_URL`), which is where the customers read their replies.
Afterwards it counts what must never happen (see `invariants`) and prints the figures (`figures`).
"""
