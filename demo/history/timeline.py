"""Running the history in time order, each action at its moment on the desk's
clock (``core.clock``)."""

import heapq
import itertools
from collections.abc import Callable
from datetime import datetime, timedelta

from core import clock

Action = Callable[[], object]


class Timeline:
    """Actions in time order. Each runs with the desk's clock frozen at its
    moment and may add later ones; what would happen after ``until`` never does."""

    def __init__(self, *, until: datetime) -> None:
        self.until = until
        self.now = datetime.min.replace(tzinfo=until.tzinfo)
        self._heap: list[tuple[datetime, int, Action]] = []
        self._order = itertools.count()

    def at(self, moment: datetime, action: Action) -> None:
        moment = max(moment, self.now)
        if moment < self.until:
            heapq.heappush(self._heap, (moment, next(self._order), action))

    def after(self, delay: timedelta, action: Action) -> None:
        self.at(self.now + delay, action)

    def run(self, *, after_each: Callable[[], None]) -> None:
        while self._heap:
            self.now, _, action = heapq.heappop(self._heap)
            with clock.frozen(self.now):
                action()
                after_each()
