class Outbox:
    """Collects e-mails; a background job sends them."""

    def __init__(self):
        self.messages = []

    def send(self, to, subject, body):
        self.messages.append((to, subject, body))
