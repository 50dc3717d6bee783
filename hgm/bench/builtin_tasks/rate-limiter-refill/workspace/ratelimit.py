"""Token-bucket rate limiting. The clock is injectable so tests need not sleep."""

import time


class TokenBucket:
    """Allows bursts of up to `capacity` requests and `rate` requests per second on average."""

    def __init__(self, rate, capacity, clock=time.monotonic):
        if rate <= 0 or capacity <= 0:
            raise ValueError("rate and capacity must be positive")
        self.rate = float(rate)
        self.capacity = float(capacity)
        self._clock = clock
        self._created = clock()
        self._last = self._created
        self._tokens = self.capacity

    def _refill(self):
        now = self._clock()
        elapsed = max(0.0, now - self._created)
        self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
        self._last = now

    @property
    def tokens(self):
        """Tokens available now."""
        self._refill()
        return self._tokens

    def allow(self, cost=1):
        """Take `cost` tokens if available; return whether the request may proceed."""
        if cost > self.capacity:
            raise ValueError("cost exceeds the bucket's capacity")
        self._refill()
        if self._tokens >= cost:
            self._tokens -= cost
            return True
        return False

    def retry_after(self, cost=1):
        """Seconds until `cost` tokens will be available (0 if they are now)."""
        self._refill()
        missing = cost - self._tokens
        return max(0.0, missing / self.rate)
