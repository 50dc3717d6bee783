class Loyalty:
    """Loyalty points per customer e-mail."""

    def __init__(self):
        self.points = {}

    def add(self, customer, points):
        self.points[customer] = self.points.get(customer, 0) + points

    def remove(self, customer, points):
        self.points[customer] = max(0, self.points.get(customer, 0) - points)
