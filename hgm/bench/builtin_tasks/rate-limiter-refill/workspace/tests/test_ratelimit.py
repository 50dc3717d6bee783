import unittest

from ratelimit import TokenBucket


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class TokenBucketTest(unittest.TestCase):
    def test_burst_then_deny(self):
        bucket = TokenBucket(rate=1, capacity=3, clock=FakeClock())
        self.assertEqual([bucket.allow() for _ in range(4)], [True, True, True, False])

    def test_cost_above_capacity(self):
        with self.assertRaises(ValueError):
            TokenBucket(rate=1, capacity=2, clock=FakeClock()).allow(cost=3)


if __name__ == "__main__":
    unittest.main()
