import unittest

from ratelimit import TokenBucket


class FakeClock:
    def __init__(self, start=0.0):
        self.now = start

    def __call__(self):
        return self.now


class RefillTest(unittest.TestCase):
    def drained(self, rate=1, capacity=2, at=100.0):
        clock = FakeClock(0.0)
        bucket = TokenBucket(rate=rate, capacity=capacity, clock=clock)
        clock.now = at
        for _ in range(int(capacity)):
            bucket.allow()
        return bucket, clock

    def test_no_extra_tokens_long_after_start(self):
        bucket, clock = self.drained()
        clock.now = 100.5
        self.assertFalse(bucket.allow())

    def test_refills_at_rate_after_drain(self):
        bucket, clock = self.drained()
        clock.now = 101.0
        self.assertTrue(bucket.allow())
        self.assertFalse(bucket.allow())

    def test_repeated_checks_do_not_create_tokens(self):
        bucket, clock = self.drained()
        allowed = 0
        for step in range(1, 11):
            clock.now = 100.0 + step * 0.25
            allowed += bucket.allow()
        self.assertEqual(allowed, 2)

    def test_sustained_rate_over_a_minute(self):
        bucket, clock = self.drained(rate=2, capacity=4, at=500.0)
        allowed = 0
        for step in range(1, 601):
            clock.now = 500.0 + step * 0.1
            allowed += bucket.allow()
        self.assertEqual(allowed, 120)

    def test_never_exceeds_capacity(self):
        bucket, clock = self.drained(rate=5, capacity=3, at=1000.0)
        clock.now = 5000.0
        self.assertAlmostEqual(bucket.tokens, 3.0)

    def test_retry_after_matches_allow(self):
        bucket, clock = self.drained(rate=4, capacity=1, at=250.0)
        wait = bucket.retry_after()
        self.assertAlmostEqual(wait, 0.25)
        clock.now = 250.0 + wait - 0.01
        self.assertFalse(bucket.allow())
        clock.now = 250.0 + wait
        self.assertTrue(bucket.allow())

    def test_fractional_tokens_accumulate(self):
        bucket, clock = self.drained(rate=1, capacity=2, at=10.0)
        clock.now = 10.4
        self.assertAlmostEqual(bucket.tokens, 0.4)
        clock.now = 10.8
        self.assertAlmostEqual(bucket.tokens, 0.8)


if __name__ == "__main__":
    unittest.main()
